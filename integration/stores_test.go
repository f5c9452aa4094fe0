package integration_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/boj/redistore"
	"github.com/gorilla/sessions"
	"github.com/redis/go-redis/v9"

	"github.com/bclogout/bclogout/internal/testclock"
	"github.com/bclogout/bclogout/middleware"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/gorillaadapter"
	"github.com/bclogout/bclogout/sessionadapter/redisadapter"
)

// The cross-store matrix: every row is one session library and store,
// wired with the bclogout model (a RevokingEnder over the row's
// Revocations and Store, middleware.Guard on every request), and every
// row must pass both races. Add a row for a new store: fill a sessionLib.

// sessionLib is a session library and store as an app uses it.
type sessionLib struct {
	// wrap is middleware the library needs around every request (scs's
	// LoadAndSave); nil for none.
	wrap func(http.Handler) http.Handler
	// login creates the request's session for l, stashes the login in it,
	// saves it, and returns its binding (LocalID: the stored session's ID).
	login func(w http.ResponseWriter, r *http.Request, l sessionadapter.Binding) (sessionadapter.Binding, error)
	// touch loads the request's session and returns a function that
	// changes and saves it, as most handlers do ("last seen", a flash).
	touch func(r *http.Request) (save func(w http.ResponseWriter) error, err error)
	// lookup is the guard's lookup; end clears the session for the browser.
	lookup func(r *http.Request) (sessionadapter.Binding, bool)
	end    func(w http.ResponseWriter, r *http.Request) error
	// store binds and deletes server-side sessions; nil for cookie sessions.
	store sessionadapter.Store
	// alive reports whether the session data of localID exists; nil for
	// cookie sessions.
	alive func(t testing.TB, localID string) bool
	// rev is the Revocations the guard and the Ender share.
	rev sessionadapter.Revocations
}

// matrixEnv is what a row builds on: one clock for every store,
// revocation set and logout of the test, and a quiet logger.
type matrixEnv struct {
	clock  *clock
	logger *slog.Logger
}

type storeRow struct {
	name string
	new  func(t *testing.T, env matrixEnv) sessionLib
}

// storeRows is the matrix. Each row must reproduce race (a) (its store
// writes the deleted session back) for the test to mean anything; the
// test checks it did.
var storeRows = []storeRow{
	{name: "gorilla FilesystemStore", new: gorillaFilesystem},
	{name: "gorilla CookieStore", new: gorillaCookie},
	{name: "boj/redistore", new: bojRedistore},
	{name: "redisadapter", new: redisadapterSessions},
	{name: "scs memstore", new: scsMemstore},
	{name: "scs redisstore", new: scsRedisstore},
}

const sessionName = "app"

func randomKey() []byte { return []byte(rand.Text() + rand.Text()) }

// gorillaLib is the common part of the gorilla rows.
func gorillaLib(store sessions.Store) sessionLib {
	sess := gorillaadapter.New(store, sessionName)
	return sessionLib{
		login: sess.Stash, // a bad or ended session just gives a new one
		touch: func(r *http.Request) (func(http.ResponseWriter) error, error) {
			s, err := store.Get(r, sessionName)
			if err != nil {
				return nil, err
			}
			return func(w http.ResponseWriter) error {
				s.Values["seen"] = time.Now().UnixNano()
				return s.Save(r, w)
			}, nil
		},
		lookup: sess.Lookup,
		end:    sess.End,
	}
}

func memoryRevocations(t *testing.T, env matrixEnv) sessionadapter.Revocations {
	rev, err := sessionadapter.NewMemoryRevocations(sessionadapter.WithClock(env.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

func gorillaFilesystem(t *testing.T, env matrixEnv) sessionLib {
	dir := t.TempDir()
	fs := sessions.NewFilesystemStore(dir, randomKey())
	del := gorillaadapter.New(fs, sessionName).(sessionadapter.Deleter)
	index, err := sessionadapter.NewMemory(sessionadapter.WithDeleter(del), sessionadapter.WithClock(env.clock.Now),
		sessionadapter.WithLogger(env.logger))
	if err != nil {
		t.Fatal(err)
	}
	lib := gorillaLib(fs)
	lib.store, lib.rev = index, memoryRevocations(t, env)
	lib.alive = func(t testing.TB, id string) bool {
		_, err := os.Stat(filepath.Join(dir, "session_"+id))
		return err == nil
	}
	return lib
}

func gorillaCookie(t *testing.T, env matrixEnv) sessionLib {
	lib := gorillaLib(sessions.NewCookieStore(randomKey()))
	lib.rev = memoryRevocations(t, env)
	return lib
}

// redisRevocations is the feed of a Redis-backed row, over its Redis.
func redisRevocations(t *testing.T, env matrixEnv, rdb redis.UniversalClient, prefix string) sessionadapter.Revocations {
	rev, err := redisadapter.NewRevocations(rdb, redisadapter.WithKeyPrefix(prefix), redisadapter.WithClock(env.clock.Now),
		redisadapter.WithLogger(env.logger), redisadapter.WithMaxStaleness(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rev.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rev.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	return rev
}

// redisData is a redisadapter store and the key format (WithSessionKey)
// of the session data it deletes.
type redisData struct {
	sessionadapter.Store
	format string
}

// SessionKey returns the key of localID's session data.
func (s redisData) SessionKey(localID string) string { return fmt.Sprintf(s.format, localID) }

func redisStore(t *testing.T, env matrixEnv, rdb redis.UniversalClient, format string, opts ...redisadapter.Option) redisData {
	opts = append(opts, redisadapter.WithSessionKey(format), redisadapter.WithClock(env.clock.Now), redisadapter.WithLogger(env.logger))
	s, err := redisadapter.New(rdb, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return redisData{s, format}
}

func redisAlive(rdb redis.UniversalClient, s redisData) func(testing.TB, string) bool {
	return func(t testing.TB, id string) bool {
		n, err := rdb.Exists(context.Background(), s.SessionKey(id)).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
}

// bojRedistore: a Redis-backed gorilla store; redisadapter binds its
// sessions and deletes them at its key format.
func bojRedistore(t *testing.T, env matrixEnv) sessionLib {
	mr := miniredis.RunT(t)
	rs, err := redistore.NewRediStore(4, "tcp", mr.Addr(), "", "", randomKey())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rs.Close() })
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	prefix := "{bclogout}:"
	store := redisStore(t, env, rdb, "session_%s", redisadapter.WithKeyPrefix(prefix))
	lib := gorillaLib(rs)
	lib.store, lib.rev, lib.alive = store, redisRevocations(t, env, rdb, prefix), redisAlive(rdb, store)
	return lib
}

// redisadapterSessions: an app's own server-side sessions, JSON at the
// key redisadapter deletes, the browser holding only the ID (the demo's
// RP beta).
func redisadapterSessions(t *testing.T, env matrixEnv) sessionLib {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	store := redisStore(t, env, rdb, "app:session:%s")
	type data struct {
		Login sessionadapter.Binding // as Stash got it, without its ID token
		Seen  int64
	}
	load := func(r *http.Request) (string, *data, error) {
		ck, err := r.Cookie(sessionName)
		if err != nil {
			return "", nil, nil
		}
		raw, err := rdb.Get(r.Context(), store.SessionKey(ck.Value)).Bytes()
		if errors.Is(err, redis.Nil) {
			return ck.Value, nil, nil
		}
		if err != nil {
			return "", nil, err
		}
		var d data
		return ck.Value, &d, json.Unmarshal(raw, &d)
	}
	save := func(ctx context.Context, id string, d *data) error {
		raw, _ := json.Marshal(d)
		return rdb.Set(ctx, store.SessionKey(id), raw, time.Hour).Err()
	}
	return sessionLib{
		login: func(w http.ResponseWriter, r *http.Request, l sessionadapter.Binding) (sessionadapter.Binding, error) {
			id := rand.Text()
			stashed := l
			stashed.IDToken = ""
			if err := save(r.Context(), id, &data{Login: stashed}); err != nil {
				return sessionadapter.Binding{}, err
			}
			http.SetCookie(w, &http.Cookie{Name: sessionName, Value: id, Path: "/"})
			l.LocalID = id
			return l, nil
		},
		touch: func(r *http.Request) (func(http.ResponseWriter) error, error) {
			id, d, err := load(r)
			if err != nil || d == nil {
				return func(http.ResponseWriter) error { return nil }, err
			}
			return func(http.ResponseWriter) error {
				d.Seen = time.Now().UnixNano()
				return save(context.Background(), id, d)
			}, nil
		},
		lookup: func(r *http.Request) (sessionadapter.Binding, bool) {
			id, d, err := load(r)
			if err != nil || d == nil {
				return sessionadapter.Binding{}, false
			}
			b := d.Login
			b.LocalID = id
			return b, true
		},
		end: func(w http.ResponseWriter, r *http.Request) error {
			http.SetCookie(w, &http.Cookie{Name: sessionName, Path: "/", MaxAge: -1})
			if ck, err := r.Cookie(sessionName); err == nil {
				return rdb.Del(r.Context(), store.SessionKey(ck.Value)).Err()
			}
			return nil
		},
		store: store, rev: redisRevocations(t, env, rdb, "{bclogout}:"), alive: redisAlive(rdb, store),
	}
}

// matrixApp serves a row's library behind the guard:
//
//	/login?sub=&sid=&iat=  the OIDC callback after the ID token (iat in Unix ms)
//	/me                    200 with the subject, 401 without a live session
//	/slow                  loads the session, waits for the test, saves it
type matrixApp struct {
	lib             sessionLib
	ender           sessionadapter.Store
	srv             *httptest.Server
	loaded, proceed chan struct{}
}

func newMatrixApp(t *testing.T, lib sessionLib, logger *slog.Logger) *matrixApp {
	opts := []sessionadapter.Option{sessionadapter.WithLogger(logger)}
	if lib.store != nil {
		opts = append(opts, sessionadapter.WithStore(lib.store))
	}
	ender, err := sessionadapter.NewRevokingEnder(lib.rev, opts...)
	if err != nil {
		t.Fatal(err)
	}
	a := &matrixApp{lib: lib, ender: ender, loaded: make(chan struct{}), proceed: make(chan struct{})}
	guard, err := middleware.Guard(lib.rev, lib.lookup, middleware.WithLogger(logger),
		middleware.WithOnRevoked(func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
			_ = lib.end(w, r)
			http.Error(w, "signed out", http.StatusUnauthorized)
		}))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.ParseInt(r.FormValue("iat"), 10, 64)
		l := sessionadapter.Binding{Issuer: issuer, Subject: r.FormValue("sub"), SessionID: r.FormValue("sid"), LoginTime: time.UnixMilli(ms)}
		b, err := lib.login(w, r, l)
		if err == nil {
			err = ender.Bind(r.Context(), b) // the store's Bind, refused for a login older than its logout
		}
		if errors.Is(err, sessionadapter.ErrRevoked) {
			_ = lib.end(w, r)
			http.Error(w, "already logged out", http.StatusForbidden)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	})
	mux.HandleFunc("/me", func(w http.ResponseWriter, r *http.Request) {
		b, ok := lib.lookup(r)
		if !ok {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		save, err := lib.touch(r)
		if err == nil {
			err = save(w)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, b.Subject)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		save, err := lib.touch(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		a.loaded <- struct{}{}
		<-a.proceed
		if err := save(w); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	var h http.Handler = guard(mux)
	if lib.wrap != nil {
		h = lib.wrap(h)
	}
	a.srv = httptest.NewServer(h)
	t.Cleanup(a.srv.Close)
	return a
}

// browser is one cookie jar against the app.
type browser struct {
	t *testing.T
	c *http.Client
	a *matrixApp
}

func (a *matrixApp) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, c: &http.Client{Jar: jar}, a: a}
}

func (b *browser) get(path string, q url.Values) (int, string) {
	b.t.Helper()
	u := b.a.srv.URL + path
	if q != nil {
		u += "?" + q.Encode()
	}
	resp, err := b.c.Get(u)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (b *browser) login(sub, sid string, iat time.Time) int {
	b.t.Helper()
	code, _ := b.get("/login", url.Values{"sub": {sub}, "sid": {sid}, "iat": {strconv.FormatInt(iat.UnixMilli(), 10)}})
	return code
}

// me returns /me's status, waiting out a 503 (a Redis feed catching up
// with the test's clock jump), never a 200.
func (b *browser) me() int {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _ := b.get("/me", nil)
		if code != http.StatusServiceUnavailable || time.Now().After(deadline) {
			return code
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestStoreMatrix runs both races against every row:
//
// (a) a request loads the session, the logout is accepted, the request
// saves (writing the deleted session back); the next request with the
// old cookie is signed out, and stays signed out for the session
// lifetime (the revocation is kept that long), whoever holds a copy.
//
// (b) the logout for a sid arrives, then the login with an ID token
// issued before it completes: that session is signed out (its Bind is
// refused); a login whose ID token is newer than the logout stays valid.
func TestStoreMatrix(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	for _, row := range storeRows {
		t.Run(row.name, func(t *testing.T) {
			env := matrixEnv{clock: newClock(time.Now()), logger: quiet}
			lib := row.new(t, env)
			a := newMatrixApp(t, lib, quiet)
			ctx := context.Background()

			t.Run("race a: save after logout", func(t *testing.T) {
				alice := a.browser(t)
				if code := alice.login("alice", "sid-a", env.clock.Now().Add(-time.Minute)); code != http.StatusOK {
					t.Fatalf("login: %d", code)
				}
				if code := alice.me(); code != http.StatusOK {
					t.Fatalf("/me after login: %d, want 200", code)
				}
				localID := boundID(t, a, alice)
				u, _ := url.Parse(a.srv.URL)
				oldCookies := alice.c.Jar.Cookies(u) // a copy, as another tab or an attacker keeps
				done := make(chan int)
				go func() { code, _ := alice.get("/slow", nil); done <- code }()
				<-a.loaded
				if _, err := a.ender.EndSessions(ctx, sessionadapter.Logout{Issuer: issuer, Subject: "alice", SessionID: "sid-a", IssuedAt: env.clock.Now()}); err != nil {
					t.Fatal(err)
				}
				if lib.alive != nil && lib.alive(t, localID) {
					t.Fatal("the logout did not delete the session data")
				}
				close(a.proceed)
				if code := <-done; code != http.StatusOK {
					t.Fatalf("/slow: %d", code)
				}
				a.proceed = make(chan struct{})
				if lib.alive != nil && !lib.alive(t, localID) {
					t.Fatal("the slow request did not write the session back: race (a) not reproduced")
				}
				if code := alice.me(); code != http.StatusUnauthorized {
					t.Fatalf("/me with the written-back session: %d, want 401", code)
				}
				// The guard cleared it for this browser; a copy of the
				// old cookie (another tab, an attacker) is still signed
				// out later on: the revocation is kept for the session
				// lifetime, whatever happened to the data.
				env.clock.Advance(time.Hour)
				alice.c.Jar.SetCookies(u, oldCookies)
				if code := alice.me(); code != http.StatusUnauthorized {
					t.Fatalf("/me with a copy of the old cookie an hour later: %d, want 401", code)
				}
			})

			t.Run("race b: login after its logout", func(t *testing.T) {
				now := env.clock.Now()
				if _, err := a.ender.EndSessions(ctx, sessionadapter.Logout{Issuer: issuer, Subject: "bob", SessionID: "sid-b", IssuedAt: now}); err != nil {
					t.Fatal(err)
				}
				late := a.browser(t)
				late.login("bob", "sid-b", now.Add(-time.Second)) // 403: refused
				if code := late.me(); code != http.StatusUnauthorized {
					t.Fatalf("/me after a login whose ID token predates the logout: %d, want 401", code)
				}
				fresh := a.browser(t)
				if code := fresh.login("bob", "sid-b2", now.Add(time.Second)); code != http.StatusOK {
					t.Fatalf("login newer than the logout: %d, want 200", code)
				}
				if code := fresh.me(); code != http.StatusOK {
					t.Fatalf("/me after a login newer than the logout: %d, want 200", code)
				}
			})
		})
	}
}

// boundID is the local ID of the browser's session, as the guard sees it
// (inside the library's middleware, which scs's lookup needs).
func boundID(t *testing.T, a *matrixApp, b *browser) string {
	t.Helper()
	u, _ := url.Parse(a.srv.URL)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, c := range b.c.Jar.Cookies(u) {
		r.AddCookie(c)
	}
	var bd sessionadapter.Binding
	var ok bool
	var lookup http.Handler = http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { bd, ok = a.lib.lookup(r) })
	if a.lib.wrap != nil {
		lookup = a.lib.wrap(lookup)
	}
	lookup.ServeHTTP(httptest.NewRecorder(), r)
	if !ok {
		t.Fatal("no binding for the browser's session")
	}
	return bd.LocalID
}

// clock is the test's clock, safe for the stores' background loops.
type clock = testclock.Clock

func newClock(t time.Time) *clock { return testclock.New(t) }
