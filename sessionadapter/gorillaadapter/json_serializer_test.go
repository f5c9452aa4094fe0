package gorillaadapter_test

import (
	"context"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/bclogout/bclogout/middleware"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/gorillaadapter"
)

// TestGuardJSONSerializerKeepsLoginTime:
// gorilla stores can serialize values with JSON (securecookie.JSONEncoder,
// boj/redistore's JSONSerializer). Stash writes the login time as int64;
// JSON gives it back as float64, and Lookup, which read it as int64
// only, silently read 0: the login time became 1970. Every revocation of the user (a sub-scoped logout)
// is then "at or after the login": a fresh login made after the logout is ended at once, and keeps
// being ended for as long as the revocation is kept (30 days by default).
func TestGuardJSONSerializerKeepsLoginTime(t *testing.T) {
	ctx := context.Background()
	store := sessions.NewCookieStore(key)
	for _, c := range store.Codecs {
		c.(*securecookie.SecureCookie).SetSerializer(stringKeyJSON{})
	}
	rev, err := sessionadapter.NewMemoryRevocations()
	if err != nil {
		t.Fatal(err)
	}
	ender, err := sessionadapter.NewRevokingEnder(rev)
	if err != nil {
		t.Fatal(err)
	}
	guard, err := middleware.Guard(rev, gorillaadapter.New(store, "app").Lookup)
	if err != nil {
		t.Fatal(err)
	}
	app := guard(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("signed in")) }))

	// The OP logs alice out everywhere (a sub-scoped token)...
	logoutAt := time.Now().Add(-time.Minute).Truncate(time.Second)
	if _, err := ender.EndSessions(ctx, sessionadapter.Logout{Issuer: iss, Subject: "alice", IssuedAt: logoutAt}); err != nil {
		t.Fatal(err)
	}
	// ...and she signs in again afterwards: a new OP session, a new ID token.
	cookie := cookieLogin(t, store, sessionadapter.Binding{Issuer: iss, Subject: "alice", SessionID: "sid-new", LoginTime: logoutAt.Add(30 * time.Second)})
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(cookie)
	w := httptest.NewRecorder()
	app.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Errorf("a login made after the logout is refused by the guard: %d %s", w.Code, w.Body)
	}
}

// TestLookupLoginTimeForms: the login time is read back in every form a
// serializer can give; a stashed login whose time cannot be read has a zero
// LoginTime, which the guard ends (fail closed), never a 1970 login.
func TestLookupLoginTimeForms(t *testing.T) {
	const ms = 1_700_000_000_123
	gob.Register(json.Number("")) // so the cookie can carry one
	tests := []struct {
		name string
		v    any
		want time.Time
	}{
		{name: "int64 (gob)", v: int64(ms), want: time.UnixMilli(ms)},
		{name: "int", v: int(ms), want: time.UnixMilli(ms)},
		{name: "float64 (JSON)", v: float64(ms), want: time.UnixMilli(ms)},
		{name: "json.Number", v: json.Number("1700000000123"), want: time.UnixMilli(ms)},
		{name: "decimal string", v: "1700000000123", want: time.UnixMilli(ms)},
		{name: "fraction", v: 1.5},
		{name: "zero", v: int64(0)},
		{name: "negative", v: float64(-5)},
		{name: "huge float", v: 1e300},
		{name: "not a number", v: "soon"},
		{name: "bool", v: true},
		{name: "missing", v: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := sessions.NewCookieStore(key)
			cookie := cookieLogin(t, store, sessionadapter.Binding{Issuer: iss, Subject: "u", SessionID: "s", LoginTime: time.UnixMilli(ms)})
			cookie = tamper(t, store, cookie, func(values map[any]any) {
				if tt.v == nil {
					delete(values, "bclogout.iat")
				} else {
					values["bclogout.iat"] = tt.v
				}
			})
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.AddCookie(cookie)
			b, ok := gorillaadapter.New(store, "app").Lookup(r)
			if !ok {
				t.Fatal("a stashed login has no binding: it would escape the guard")
			}
			if !b.LoginTime.Equal(tt.want) || b.LoginTime.IsZero() != tt.want.IsZero() {
				t.Errorf("LoginTime = %v, want %v", b.LoginTime, tt.want)
			}
		})
	}
}

// TestGuardEndsUnreadableLoginTime: a cookie whose stashed login time has
// an unreadable form is ended by the guard with no revocation kept.
func TestGuardEndsUnreadableLoginTime(t *testing.T) {
	store := sessions.NewCookieStore(key)
	for _, c := range store.Codecs {
		c.(*securecookie.SecureCookie).SetSerializer(stringKeyJSON{})
	}
	rev, err := sessionadapter.NewMemoryRevocations()
	if err != nil {
		t.Fatal(err)
	}
	guard, err := middleware.Guard(rev, gorillaadapter.New(store, "app").Lookup)
	if err != nil {
		t.Fatal(err)
	}
	app := guard(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("signed in")) }))
	cookie := cookieLogin(t, store, sessionadapter.Binding{Issuer: iss, Subject: "alice", SessionID: "s1", LoginTime: time.Now()})
	cookie = tamper(t, store, cookie, func(values map[any]any) { values["bclogout.iat"] = "yesterday" })
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(cookie)
	w := httptest.NewRecorder()
	app.ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized {
		t.Errorf("a session with an unreadable login time: %d, want 401", w.Code)
	}
}

// tamper changes the values of the session of cookie in store, as a
// serializer or an older version of the app may have left them, and
// returns the new cookie.
func tamper(t *testing.T, store sessions.Store, cookie *http.Cookie, change func(values map[any]any)) *http.Cookie {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(cookie)
	s, err := store.Get(r, "app")
	if err != nil || s.IsNew {
		t.Fatalf("load session: %v (new %v)", err, s.IsNew)
	}
	change(s.Values)
	w := httptest.NewRecorder()
	if err := s.Save(r, w); err != nil {
		t.Fatal(err)
	}
	return w.Result().Cookies()[0]
}

// stringKeyJSON serializes session values as a JSON object, as
// boj/redistore's JSONSerializer does: gorilla's map[interface{}]interface{}
// with string keys becomes map[string]interface{}. securecookie.JSONEncoder
// hands the map to encoding/json as it is, which only Go 1.27's
// encoding/json accepts; this one reads the same on every Go.
type stringKeyJSON struct{}

func (stringKeyJSON) Serialize(src interface{}) ([]byte, error) {
	m, ok := src.(map[interface{}]interface{})
	if !ok {
		return json.Marshal(src)
	}
	out := make(map[string]interface{}, len(m))
	for k, v := range m {
		ks, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("non-string key %v", k)
		}
		out[ks] = v
	}
	return json.Marshal(out)
}

func (stringKeyJSON) Deserialize(src []byte, dst interface{}) error {
	var in map[string]interface{}
	if err := json.Unmarshal(src, &in); err != nil {
		return err
	}
	m := dst.(*map[interface{}]interface{})
	for k, v := range in {
		(*m)[k] = v
	}
	return nil
}
