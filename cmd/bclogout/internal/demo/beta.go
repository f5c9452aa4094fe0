package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/bclogout/bclogout"
	"github.com/bclogout/bclogout/middleware"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/redisadapter"
	"github.com/go-chi/chi/v5"
	"github.com/redis/go-redis/v9"
)

// redisSessions keeps beta's sessions server-side in Redis, at the key
// redisadapter deletes when a logout ends the session: the browser holds
// only the session ID.
type redisSessions struct {
	rdb    redis.UniversalClient
	store  sessionadapter.Store // the RevokingEnder: its Bind refuses a login older than its logout
	data   string               // where the session data lives: data + the session ID
	cookie string
}

// lookup is the guard's and the notifier's: the binding stashed in the
// session data.
func (s *redisSessions) lookup(r *http.Request) (sessionadapter.Binding, bool) {
	info, err := s.load(r)
	if err != nil || info == nil {
		return sessionadapter.Binding{}, false
	}
	return sessionadapter.Binding{Issuer: info.Issuer, Subject: info.Subject, SessionID: info.SID, LocalID: info.LocalID, LoginTime: info.LoginTime}, true
}

var (
	_ sessionBackend          = (*redisSessions)(nil)
	_ sessionadapter.Sessions = (*redisSessions)(nil)
)

// Stash, Lookup and End make beta's sessions the front door's
// sessionadapter.Sessions, for SignOut.
func (s *redisSessions) Stash(w http.ResponseWriter, r *http.Request, b sessionadapter.Binding) (sessionadapter.Binding, error) {
	info := sessionInfo{Issuer: b.Issuer, Subject: b.Subject, SID: b.SessionID, LocalID: randomID(), LoginTime: b.LoginTime}
	if err := s.start(r.Context(), w, r, info); err != nil {
		return sessionadapter.Binding{}, err
	}
	b.LocalID, b.Expires = info.LocalID, time.Now().Add(sessionLifetime)
	return b, nil
}

// Lookup implements sessionadapter.Sessions.
func (s *redisSessions) Lookup(r *http.Request) (sessionadapter.Binding, bool) { return s.lookup(r) }

// End implements sessionadapter.Sessions.
func (s *redisSessions) End(w http.ResponseWriter, r *http.Request) error {
	return s.end(r.Context(), w, r)
}

func (s *redisSessions) current(r *http.Request) (*sessionInfo, error) {
	if r.Context().Value(revokedKey{}) != nil {
		return nil, nil
	}
	return s.load(r)
}

func (s *redisSessions) load(r *http.Request) (*sessionInfo, error) {
	ck, err := r.Cookie(s.cookie)
	if err != nil {
		return nil, nil
	}
	b, err := s.rdb.Get(r.Context(), s.data+ck.Value).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil // ended by a logout, or expired
	}
	if err != nil {
		return nil, fmt.Errorf("demo: reading session: %w", err)
	}
	var info sessionInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("demo: decoding session: %w", err)
	}
	return &info, nil
}

func (s *redisSessions) start(ctx context.Context, w http.ResponseWriter, _ *http.Request, info sessionInfo) error {
	b, err := json.Marshal(info)
	if err != nil {
		return err
	}
	if err := s.rdb.Set(ctx, s.data+info.LocalID, b, sessionLifetime).Err(); err != nil {
		return fmt.Errorf("demo: writing session: %w", err)
	}
	err = s.store.Bind(ctx, sessionadapter.Binding{
		Issuer: info.Issuer, Subject: info.Subject, SessionID: info.SID, LocalID: info.LocalID,
		LoginTime: info.LoginTime, Expires: time.Now().Add(sessionLifetime),
	})
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: s.cookie, Value: info.LocalID, Path: "/", MaxAge: int(sessionLifetime / time.Second),
		HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
	return nil
}

func (s *redisSessions) end(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	http.SetCookie(w, &http.Cookie{Name: s.cookie, Path: "/", MaxAge: -1})
	ck, err := r.Cookie(s.cookie)
	if err != nil {
		return nil
	}
	if err := s.rdb.Del(ctx, s.data+ck.Value).Err(); err != nil {
		return err
	}
	return s.store.Unbind(ctx, ck.Value)
}

// newBeta builds RP beta: chi, server-side sessions in Redis bound through
// redisadapter, whose EndSessions deletes the session data.
func newBeta(ctx context.Context, a *rpApp, rdb redis.UniversalClient, keyPrefix string, closers, notifiers *[]io.Closer) (http.Handler, error) {
	data := keyPrefix + "session:" // the session data's keys, which the store deletes
	store, err := redisadapter.New(rdb, redisadapter.WithKeyPrefix(keyPrefix), redisadapter.WithLogger(a.logger),
		redisadapter.WithSessionKey(strings.ReplaceAll(data, "%", "%%")+"%s"))
	if err != nil {
		return nil, err
	}
	revs, err := redisadapter.NewRevocations(rdb, redisadapter.WithKeyPrefix(keyPrefix), redisadapter.WithLogger(a.logger))
	if err != nil {
		return nil, err
	}
	*closers = append(*closers, revs)
	// Until the feed's first read a login fails closed and the guard
	// answers 503: serve once it has read.
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := revs.Wait(wait); err != nil {
		return nil, fmt.Errorf("demo: reading the revocations: %w", err)
	}
	// A login binds through the one model, whose Bind refuses a login
	// older than its logout; the front door ends sessions through its own,
	// over the same revocations and store: record the revocation, then
	// delete the session data.
	ender, err := sessionadapter.NewRevokingEnder(revs, sessionadapter.WithStore(store), sessionadapter.WithLogger(a.logger))
	if err != nil {
		return nil, err
	}
	rs := &redisSessions{rdb: rdb, store: ender, data: data, cookie: "beta_session"}
	a.sessions = rs
	cfg := bclogout.Config{Sessions: rs, Revocations: revs, Bindings: store, FrontChannelPath: frontChannelPath}
	if err := a.newFront(ctx, a.oidc.meta.Issuer, cfg, false, closers); err != nil {
		return nil, err
	}
	guard, err := middleware.Guard(revs, rs.lookup, middleware.WithLogger(a.logger),
		middleware.WithOnRevoked(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
			if err := rs.end(r.Context(), w, r); err != nil {
				a.logger.Error("demo: clearing revoked session", "rp", a.name, "error", err)
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), revokedKey{}, true)))
		}))
	if err != nil {
		return nil, err
	}
	notifier, err := middleware.NewNotifier(revs, rs.lookup, middleware.WithLogger(a.logger))
	if err != nil {
		return nil, err
	}
	*notifiers = append(*notifiers, notifier)
	r := chi.NewRouter()
	r.Get(eventsPath, notifier.ServeHTTP)
	// The sign-out route reads the session itself and needs no guard: a
	// revoked session has nothing left to sign out.
	r.Handle(signOutPath, a.front.SignOut())
	r.Group(func(r chi.Router) {
		r.Use(guard)
		r.Get("/", a.home)
		r.Get("/login", a.login)
		r.Get("/callback", a.callback)
		r.Post("/logout", a.localLogout)
	})
	// The OP's requests (logout token, front-channel frame, SET) carry no
	// session cookie and no CSRF token: Endpoints serves them ahead of the
	// router, which never sees them.
	return a.recordDoors(a.front.Endpoints(r)), nil
}
