package scsadapter_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"

	"github.com/bclogout/bclogout"
	"github.com/bclogout/bclogout/fakeop"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/scsadapter"
)

func TestNew(t *testing.T) {
	sm := scs.New()
	store := memstore.NewWithCleanupInterval(0)
	sm.Store = store
	s := scsadapter.New(sm)
	login := sessionadapter.Binding{Issuer: iss, Subject: "alice", SessionID: "sid-1", LoginTime: time.Unix(1_700_000_000, 0)}

	var b sessionadapter.Binding
	var before string
	h := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/visit":
			sm.Put(r.Context(), "seen", true)
		case "/callback":
			before = sm.Token(r.Context())
			var err error
			if b, err = s.Stash(w, r, login); err != nil {
				t.Error(err)
			}
		case "/":
			got, ok := s.Lookup(r)
			if !ok || got.LocalID != b.LocalID || !got.LoginTime.Equal(login.LoginTime) {
				t.Errorf("Lookup: %+v %v, want %+v", got, ok, b)
			}
		case "/end":
			if err := s.End(w, r); err != nil {
				t.Error(err)
			}
		}
	}))
	serve := func(path string, c *http.Cookie) *http.Cookie {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		if c != nil {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if cs := w.Result().Cookies(); len(cs) == 1 {
			return cs[0]
		}
		return c
	}
	c := serve("/visit", nil)
	c = serve("/callback", c)
	if before == "" || b.LocalID == before || c.Value != b.LocalID {
		t.Fatalf("Stash kept the pre-login token: before %q, binding %q, cookie %q", before, b.LocalID, c.Value)
	}
	serve("/", c)

	if err := s.(sessionadapter.Deleter).DeleteSession(context.Background(), b.LocalID); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := store.Find(b.LocalID); found {
		t.Error("DeleteSession left the session in the store")
	}
	c = serve("/callback", c)
	serve("/end", c)
	if _, found, _ := store.Find(c.Value); found {
		t.Error("End left the session in the store")
	}
}

// A nil SessionManager (one assigned after the Config was built) is
// refused when the front door is built, not met by a panic in the guard's
// first request.
func TestNewRefusesNilSessionManager(t *testing.T) {
	op := fakeop.New(t)
	logout, err := bclogout.New(t.Context(), bclogout.Config{Issuer: op.Issuer(), ClientID: "app", Sessions: scsadapter.New(nil)})
	if !errors.Is(err, bclogout.ErrInvalidConfig) {
		if err == nil {
			logout.Close(t.Context())
		}
		t.Fatalf("New with scsadapter.New(nil): %v, want an error wrapping ErrInvalidConfig", err)
	}
}
