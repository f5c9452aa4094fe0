package redisadapter_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/internal/storetest"
	"github.com/bclogout/bclogout/sessionadapter/redisadapter"
)

const iss = "https://op.example"

func bind(t testing.TB, h storetest.Harness, b sessionadapter.Binding) {
	t.Helper()
	h.Create(t, b.LocalID)
	if err := h.Store.Bind(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}

// TestExpiry checks that bindings and indexes follow the sessions' TTLs,
// the default lifetime (30 days) for a binding without Expires, with
// miniredis' FastForward instead of waiting.
func TestExpiry(t *testing.T) {
	ctx := context.Background()
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer c.Close()
	clock := &storetest.Clock{T: time.Unix(1_700_000_000, 0)}
	s, err := redisadapter.New(c, redisadapter.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := s.Bind(ctx, sessionadapter.Binding{Issuer: iss, Subject: "u", SessionID: fmt.Sprint("s", i), LocalID: fmt.Sprint("l", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(m.Keys()); n != 3+3+1 {
		t.Fatalf("%d keys after binding, want 3 bindings, 3 sid and 1 sub index: %v", n, m.Keys())
	}
	m.FastForward(30*24*time.Hour - time.Second)
	if n := len(m.Keys()); n != 3+3+1 {
		t.Fatalf("%d keys just before the default session lifetime, want 7: %v", n, m.Keys())
	}
	m.FastForward(2 * time.Second)
	clock.T = clock.T.Add(30*24*time.Hour + time.Second)
	if keys := m.Keys(); len(keys) != 0 {
		t.Fatalf("keys left after the session lifetime: %v", keys)
	}

	// A user who logs in again and again: the sub index keeps only the
	// live sessions, however long it lives.
	for i := range 100 {
		clock.T = clock.T.Add(10 * time.Minute)
		m.FastForward(10 * time.Minute)
		if err := s.Bind(ctx, sessionadapter.Binding{Issuer: iss, Subject: "u", LocalID: fmt.Sprint("r", i), Expires: clock.T.Add(30 * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	members, _ := m.ZMembers(redisadapter.DefaultKeyPrefix + "sub:18:" + iss + "u")
	if len(members) > 4 {
		t.Fatalf("sub index holds %d members, want the 3 or 4 live sessions", len(members))
	}
}

// counter counts the commands and pipelines a client sends for contexts
// marked with counted: one each is one round trip. The feed's own
// background reads are not marked, so they are not counted.
type counter struct{ n atomic.Int64 }

type countedKey struct{}

// counted marks ctx for counter.
func counted(ctx context.Context) context.Context { return context.WithValue(ctx, countedKey{}, true) }

func (*counter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if ctx.Value(countedKey{}) != nil {
			c.n.Add(1)
		}
		return next(ctx, cmd)
	}
}
func (c *counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if ctx.Value(countedKey{}) != nil {
			c.n.Add(1)
		}
		return next(ctx, cmds)
	}
}

// TestRoundTrips: one round trip per store operation and per Revoke, and
// none for Revoked, the guard's check (it reads the replica's memory; it
// took one round trip before the feed).
func TestRoundTrips(t *testing.T) {
	ctx := counted(context.Background())
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			c := be.client(t)
			h := harness(t, c)
			rev := newRevocations(t, c, redisadapter.WithKeyPrefix(uniquePrefix(t, c)))
			// Warm up: a server loads each script once (NOSCRIPT, then EVAL).
			bind(t, h, sessionadapter.Binding{Issuer: iss, Subject: "warm", LocalID: "warm"})
			_ = h.Store.Unbind(ctx, "warm")
			_, _ = h.Store.EndSessions(ctx, sessionadapter.Logout{Issuer: iss, Subject: "warm"})
			_ = rev.Revoke(ctx, sessionadapter.Logout{Issuer: iss, Subject: "warm"}, time.Hour)
			_ = rev.Revoke(ctx, sessionadapter.Logout{Issuer: iss, SessionID: "warm"}, time.Hour)
			_, _ = rev.Revoked(ctx, sessionadapter.Binding{Issuer: iss, Subject: "warm"})
			for i := range 1000 {
				bind(t, h, sessionadapter.Binding{Issuer: iss, Subject: "u", SessionID: fmt.Sprint("s", i%7), LocalID: fmt.Sprint("l", i)})
			}

			cnt := &counter{}
			c.AddHook(cnt)
			steps := []struct {
				name string
				run  func() error
				want int64
			}{
				{"Bind", func() error {
					return h.Store.Bind(ctx, sessionadapter.Binding{Issuer: iss, Subject: "v", SessionID: "x", LocalID: "new"})
				}, 1},
				{"Unbind", func() error { return h.Store.Unbind(ctx, "new") }, 1},
				{"EndSessions of 1000", func() error {
					n, err := h.Store.EndSessions(ctx, sessionadapter.Logout{Issuer: iss, Subject: "u"})
					if err == nil && n != 1000 {
						err = fmt.Errorf("ended %d, want 1000", n)
					}
					return err
				}, 1},
				{"Revoke", func() error {
					return rev.Revoke(ctx, sessionadapter.Logout{Issuer: iss, Subject: "u", SessionID: "s"}, time.Hour)
				}, 1},
				{"Revoked", func() error {
					got, err := rev.Revoked(ctx, sessionadapter.Binding{Issuer: iss, Subject: "u", SessionID: "s"})
					if err == nil && !got {
						err = errors.New("not revoked")
					}
					return err
				}, 0},
			}
			for _, st := range steps {
				before := cnt.n.Load()
				if err := st.run(); err != nil {
					t.Fatalf("%s: %v", st.name, err)
				}
				if got := cnt.n.Load() - before; got != st.want {
					t.Errorf("%s took %d round trips, want %d", st.name, got, st.want)
				}
			}
		})
	}
}

func TestRedisUnavailable(t *testing.T) {
	ctx := context.Background()
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr(), MaxRetries: -1})
	defer c.Close()
	h := harness(t, c)
	for i := range 5 {
		bind(t, h, sessionadapter.Binding{Issuer: iss, Subject: "u", SessionID: "s", LocalID: fmt.Sprint("l", i)})
	}
	bind(t, h, sessionadapter.Binding{Issuer: iss, Subject: "other", SessionID: "t", LocalID: "other"})
	l := sessionadapter.Logout{Issuer: iss, Subject: "u"}

	t.Run("server error", func(t *testing.T) {
		m.SetError("LOADING Redis is loading the dataset in memory")
		n, err := h.Store.EndSessions(ctx, l)
		m.SetError("")
		if !errors.Is(err, redisadapter.ErrRedis) || n != 0 {
			t.Fatalf("EndSessions = %d, %v, want 0, ErrRedis", n, err)
		}
	})
	t.Run("server down, then retried after recovery", func(t *testing.T) {
		m.Close()
		n, err := h.Store.EndSessions(ctx, l)
		if !errors.Is(err, redisadapter.ErrRedis) || n != 0 {
			t.Fatalf("EndSessions = %d, %v, want 0, ErrRedis", n, err)
		}
		if err := m.Restart(); err != nil {
			t.Fatal(err)
		}
		// The failed logout changed nothing: every session is still
		// alive and still indexed, so the OP's retry ends all of them.
		if n, err := h.Store.EndSessions(ctx, l); err != nil || n != 5 {
			t.Fatalf("retry = %d, %v, want 5, nil", n, err)
		}
		for i := range 5 {
			if h.Alive(t, fmt.Sprint("l", i)) {
				t.Fatalf("session l%d survived the retried logout", i)
			}
		}
		if !h.Alive(t, "other") {
			t.Fatal("an unrelated session was ended")
		}
	})
}

func TestDeadPortAndDeadline(t *testing.T) {
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	defer dead.Close()
	s := newStore(t, dead, redisadapter.WithLogger(quiet))
	rev, _ := redisadapter.NewRevocations(dead, redisadapter.WithLogger(quiet))
	defer rev.Close()
	expired, cancel := context.WithDeadline(context.Background(), time.Unix(1, 0))
	defer cancel()
	l := sessionadapter.Logout{Issuer: iss, SessionID: "s"}
	b := sessionadapter.Binding{Issuer: iss, Subject: "u", LocalID: "l"}
	tests := []struct {
		name    string
		ctx     context.Context
		run     func(ctx context.Context) error
		wantErr error
	}{
		{name: "end sessions, dead port", ctx: context.Background(), run: func(ctx context.Context) error { _, err := s.EndSessions(ctx, l); return err }, wantErr: redisadapter.ErrRedis},
		{name: "bind, dead port", ctx: context.Background(), run: func(ctx context.Context) error { return s.Bind(ctx, b) }, wantErr: redisadapter.ErrRedis},
		{name: "unbind, dead port", ctx: context.Background(), run: func(ctx context.Context) error { return s.Unbind(ctx, "l") }, wantErr: redisadapter.ErrRedis},
		{name: "revoke, dead port", ctx: context.Background(), run: func(ctx context.Context) error { return rev.Revoke(ctx, l, time.Hour) }, wantErr: redisadapter.ErrRedis},
		{name: "revoked, never loaded", ctx: context.Background(), run: func(ctx context.Context) error { _, err := rev.Revoked(ctx, b); return err }, wantErr: sessionadapter.ErrStale},
		{name: "deadline", ctx: expired, run: func(ctx context.Context) error { _, err := s.EndSessions(ctx, l); return err }, wantErr: context.DeadlineExceeded},
		{name: "invalid logout", ctx: context.Background(), run: func(ctx context.Context) error {
			_, err := s.EndSessions(ctx, sessionadapter.Logout{Issuer: iss})
			return err
		}, wantErr: sessionadapter.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.run(tt.ctx); !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// TestReplicas runs two Stores, each with its own client, over one Redis:
// a logout delivered to one ends a session the other bound.
func TestReplicas(t *testing.T) {
	ctx := context.Background()
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			var ca, cb redis.UniversalClient
			if be.name == "miniredis" {
				m := miniredis.RunT(t)
				ca = redis.NewClient(&redis.Options{Addr: m.Addr()})
				cb = redis.NewClient(&redis.Options{Addr: m.Addr()})
				t.Cleanup(func() { ca.Close(); cb.Close() })
			} else {
				ca, cb = be.client(t), be.client(t)
			}
			prefix := uniquePrefix(t, ca)
			a := newStore(t, ca, redisadapter.WithKeyPrefix(prefix))
			b := newStore(t, cb, redisadapter.WithKeyPrefix(prefix))
			ha, hb := dataHarness(a, ca), dataHarness(b, cb)
			bind(t, ha, sessionadapter.Binding{Issuer: iss, Subject: "u", SessionID: "s", LocalID: "on-a"})
			bind(t, ha, sessionadapter.Binding{Issuer: iss, Subject: "w", SessionID: "t", LocalID: "keep"})
			if n, err := b.EndSessions(ctx, sessionadapter.Logout{Issuer: iss, SessionID: "s"}); err != nil || n != 1 {
				t.Fatalf("replica b EndSessions = %d, %v, want 1, nil", n, err)
			}
			if ha.Alive(t, "on-a") || !hb.Alive(t, "keep") {
				t.Fatal("replica b ended the wrong sessions")
			}

			// Replica b learns a's revocation through the feed, within the
			// staleness bound (it was immediate when Revoked asked Redis).
			ra := newRevocations(t, ca, redisadapter.WithKeyPrefix(prefix))
			rb := newRevocations(t, cb, redisadapter.WithKeyPrefix(prefix))
			login := time.Unix(1_700_000_000, 0)
			if err := ra.Revoke(ctx, sessionadapter.Logout{Issuer: iss, Subject: "u", IssuedAt: login}, time.Hour); err != nil {
				t.Fatal(err)
			}
			eventually(t, func() bool {
				got, err := rb.Revoked(ctx, sessionadapter.Binding{Issuer: iss, Subject: "u", LoginTime: login})
				return err == nil && got
			})
		})
	}
}

// eventually polls cond until it holds, failing after 10 s: for what a
// background loop does on its own, never for a TTL.
func eventually(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestReplicasKeepSubsOfSIDLogouts: two replicas each revoke sid s for a
// different sub; a third replica, fed from Redis, must not merge them into
// "s, any sub" and end the session of a user neither logout named.
func TestReplicasKeepSubsOfSIDLogouts(t *testing.T) {
	ctx := context.Background()
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			c := be.client(t)
			prefix := uniquePrefix(t, c)
			ra := newRevocations(t, c, redisadapter.WithKeyPrefix(prefix))
			rb := newRevocations(t, c, redisadapter.WithKeyPrefix(prefix))
			login := time.Unix(1_700_000_000, 0)
			for i, l := range []sessionadapter.Logout{
				{Issuer: iss, Subject: "bob", SessionID: "s", IssuedAt: login.Add(time.Second)},
				{Issuer: iss, Subject: "carol", SessionID: "s", IssuedAt: login.Add(time.Second)},
			} {
				if err := []*redisadapter.Revocations{ra, rb}[i].Revoke(ctx, l, time.Hour); err != nil {
					t.Fatal(err)
				}
			}
			rc := newRevocations(t, c, redisadapter.WithKeyPrefix(prefix))
			for _, r := range []*redisadapter.Revocations{ra, rb, rc} {
				eventually(t, func() bool {
					got, err := r.Revoked(ctx, sessionadapter.Binding{Issuer: iss, Subject: "carol", SessionID: "s", LoginTime: login})
					return err == nil && got
				})
				eventually(t, func() bool {
					got, err := r.Revoked(ctx, sessionadapter.Binding{Issuer: iss, Subject: "bob", SessionID: "s", LoginTime: login})
					return err == nil && got
				})
				if got, err := r.Revoked(ctx, sessionadapter.Binding{Issuer: iss, Subject: "alice", SessionID: "s", LoginTime: login}); err != nil || got {
					t.Errorf("alice's session: Revoked = %v, %v; want false: neither logout named her", got, err)
				}
			}
		})
	}
}
