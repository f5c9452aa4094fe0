package scsadapter_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"

	"github.com/bclogout/bclogout/middleware"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/scsadapter"
)

// jsonCodec is a JSON codec a user can plug into scs.SessionManager.Codec:
// numbers come back as float64, or as json.Number with useNumber.
type jsonCodec struct{ useNumber bool }

type jsonSession struct {
	Deadline time.Time      `json:"deadline"`
	Values   map[string]any `json:"values"`
}

func (jsonCodec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	return json.Marshal(jsonSession{deadline, values})
}

func (c jsonCodec) Decode(b []byte) (time.Time, map[string]any, error) {
	var s jsonSession
	d := json.NewDecoder(bytes.NewReader(b))
	if c.useNumber {
		d.UseNumber()
	}
	err := d.Decode(&s)
	return s.Deadline, s.Values, err
}

// TestJSONCodecKeepsLoginTime: with a JSON codec the stashed login time
// comes back as float64 (or json.Number); BindingOf reads it rather than
// taking a 1970 login that every later logout of the user revokes.
func TestJSONCodecKeepsLoginTime(t *testing.T) {
	for name, codec := range map[string]jsonCodec{"float64": {}, "json.Number": {useNumber: true}} {
		t.Run(name, func(t *testing.T) {
			sm := scs.New()
			sm.Store = memstore.NewWithCleanupInterval(0)
			sm.Codec = codec
			ctx, err := sm.Load(context.Background(), "")
			if err != nil {
				t.Fatal(err)
			}
			login := time.UnixMilli(1_700_000_000_123)
			if _, err := stash(ctx, sm, sessionadapter.Binding{Issuer: iss, Subject: "alice", SessionID: "s1", LoginTime: login}); err != nil {
				t.Fatal(err)
			}
			token, _, err := sm.Commit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			next, err := sm.Load(context.Background(), token)
			if err != nil {
				t.Fatal(err)
			}
			b, ok := bindingOf(next, sm)
			if !ok || !b.LoginTime.Equal(login) {
				t.Errorf("BindingOf: ok %v, LoginTime %v, want %v", ok, b.LoginTime, login)
			}
		})
	}
}

// TestGuardEndsUnreadableLoginTime: a stashed login whose time cannot be
// read is ended by the guard (fail closed), with no revocation kept.
func TestGuardEndsUnreadableLoginTime(t *testing.T) {
	sm := scs.New()
	sm.Store = memstore.NewWithCleanupInterval(0)
	ctx, err := sm.Load(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stash(ctx, sm, sessionadapter.Binding{Issuer: iss, Subject: "alice", SessionID: "s1", LoginTime: time.Now()}); err != nil {
		t.Fatal(err)
	}
	sm.Put(ctx, "bclogout.iat", "yesterday")
	token, _, err := sm.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rev, err := sessionadapter.NewMemoryRevocations()
	if err != nil {
		t.Fatal(err)
	}
	guard, err := middleware.Guard(rev, scsadapter.New(sm).Lookup)
	if err != nil {
		t.Fatal(err)
	}
	h := sm.LoadAndSave(guard(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("signed in")) })))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(&http.Cookie{Name: sm.Cookie.Name, Value: token})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized {
		t.Errorf("a session with an unreadable login time: %d, want 401", w.Code)
	}
}
