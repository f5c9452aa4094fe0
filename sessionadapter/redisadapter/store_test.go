package redisadapter_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bclogout/bclogout/internal/defaults"
	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/internal/storetest"
	"github.com/bclogout/bclogout/sessionadapter/redisadapter"
)

func TestStore(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			c := be.client(t)
			storetest.Run(t, func(t *testing.T) storetest.Harness { return harness(t, c) })
		})
	}
}

func TestRevocations(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			c := be.client(t)
			storetest.RunRevocations(t, func(t *testing.T) sessionadapter.Revocations {
				return newRevocations(t, c, redisadapter.WithKeyPrefix(uniquePrefix(t, c)))
			})
		})
	}
}

// A logout whose sub is not its session's keeps that session, and says so
// at Warn without its local ID: with scs's keys, the session cookie.
func TestSubMismatchLogsNoLocalID(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			c := be.client(t)
			var logs strings.Builder
			s := newStore(t, c, redisadapter.WithKeyPrefix(uniquePrefix(t, c)), redisadapter.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			const token = "alices-scs-session-token"
			now := time.Now()
			if err := s.Bind(t.Context(), sessionadapter.Binding{Issuer: "https://op.example", Subject: "alice", SessionID: "s1", LocalID: token, LoginTime: now.Add(-time.Minute)}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.EndSessions(t.Context(), sessionadapter.Logout{Issuer: "https://op.example", Subject: "bob", SessionID: "s1", IssuedAt: now}); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(logs.String(), "session kept") {
				t.Fatalf("precondition: no mismatch logged:\n%s", logs.String())
			}
			if strings.Contains(logs.String(), token) {
				t.Errorf("the kept session's local ID is in the log:\n%s", logs.String())
			}
		})
	}
}

func TestNewInvalid(t *testing.T) {
	plain := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})
	t.Cleanup(func() { plain.Close(); cluster.Close() })
	tests := []struct {
		name    string
		client  redis.UniversalClient
		opts    []redisadapter.Option
		wantErr error
	}{
		{name: "defaults", client: plain},
		{name: "cluster defaults", client: cluster},
		{name: "nil client", wantErr: errs.ErrInvalidConfig},
		{name: "foreign format", client: plain, opts: []redisadapter.Option{redisadapter.WithSessionKey("session_%s")}},
		{name: "percent literal", client: plain, opts: []redisadapter.Option{redisadapter.WithSessionKey("100%%:%s")}},
		{name: "no verb", client: plain, opts: []redisadapter.Option{redisadapter.WithSessionKey("session_")}, wantErr: errs.ErrInvalidConfig},
		{name: "two verbs", client: plain, opts: []redisadapter.Option{redisadapter.WithSessionKey("%s:%s")}, wantErr: errs.ErrInvalidConfig},
		{name: "other verb", client: plain, opts: []redisadapter.Option{redisadapter.WithSessionKey("%d:%s")}, wantErr: errs.ErrInvalidConfig},
		{name: "cluster foreign format", client: cluster, opts: []redisadapter.Option{redisadapter.WithSessionKey("session_%s")}, wantErr: errs.ErrInvalidConfig},
		{name: "cluster tagged format", client: cluster, opts: []redisadapter.Option{redisadapter.WithSessionKey("{bclogout}session_%s")}},
		{name: "cluster tag after id", client: cluster, opts: []redisadapter.Option{redisadapter.WithSessionKey("session_%s{bclogout}")}, wantErr: errs.ErrInvalidConfig},
		{name: "cluster other tag", client: cluster, opts: []redisadapter.Option{redisadapter.WithSessionKey("{app}session_%s")}, wantErr: errs.ErrInvalidConfig},
		{name: "cluster untagged prefix", client: cluster, opts: []redisadapter.Option{redisadapter.WithKeyPrefix("bclogout:")}, wantErr: errs.ErrInvalidConfig},
		{name: "cluster empty tag", client: cluster, opts: []redisadapter.Option{redisadapter.WithKeyPrefix("{}:")}, wantErr: errs.ErrInvalidConfig},
		{name: "nil logger", client: plain, opts: []redisadapter.Option{redisadapter.WithLogger(nil)}, wantErr: errs.ErrInvalidConfig},
		{name: "nil clock", client: plain, opts: []redisadapter.Option{redisadapter.WithClock(nil)}, wantErr: errs.ErrInvalidConfig},
		{name: "zero option", client: plain, opts: []redisadapter.Option{{}}, wantErr: errs.ErrInvalidConfig},
		{name: "option of NewRevocations", client: plain, opts: []redisadapter.Option{redisadapter.WithMaxStaleness(time.Second)}, wantErr: errs.ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var client redis.UniversalClient
			if tt.client != nil {
				client = tt.client
			}
			_, err := redisadapter.New(client, tt.opts...)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("New err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestNewRevocationsInvalid(t *testing.T) {
	plain := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})
	t.Cleanup(func() { plain.Close(); cluster.Close() })
	tests := []struct {
		name    string
		client  redis.UniversalClient
		opts    []redisadapter.Option
		wantErr error
	}{
		{name: "defaults", client: plain},
		{name: "cluster defaults", client: cluster},
		{name: "nil client", wantErr: errs.ErrInvalidConfig},
		{name: "cluster untagged prefix", client: cluster, opts: []redisadapter.Option{redisadapter.WithKeyPrefix("bclogout:")}, wantErr: errs.ErrInvalidConfig},
		{name: "nil clock", client: plain, opts: []redisadapter.Option{redisadapter.WithClock(nil)}, wantErr: errs.ErrInvalidConfig},
		{name: "tiny staleness bound", client: plain, opts: []redisadapter.Option{redisadapter.WithMaxStaleness(time.Millisecond)}, wantErr: errs.ErrInvalidConfig},
		{name: "zero option", client: plain, opts: []redisadapter.Option{{}}, wantErr: errs.ErrInvalidConfig},
		{name: "option of New", client: plain, opts: []redisadapter.Option{redisadapter.WithSessionKey("s:%s")}, wantErr: errs.ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var client redis.UniversalClient
			if tt.client != nil {
				client = tt.client
			}
			r, err := redisadapter.NewRevocations(client, append(tt.opts, redisadapter.WithLogger(quiet))...)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("NewRevocations err = %v, want %v", err, tt.wantErr)
			}
			if r != nil {
				_ = r.Close()
			}
		})
	}
}

// A sid logout from an OP node whose clock is behind the one that issued
// the ID token still ends its session, within the skew (a minute); a
// login dated further after the logout is a fresh one.
func TestRevocationsSIDClockSkew(t *testing.T) {
	ctx := context.Background()
	login := time.Now().Truncate(time.Second)
	b := sessionadapter.Binding{Issuer: "https://op.example", Subject: "alice", SessionID: "sid-1", LocalID: "c", LoginTime: login}
	for _, tt := range []struct {
		name   string
		logout time.Duration // the logout's iat, from the login's
		want   bool
	}{
		{name: "within the skew", logout: -2 * time.Second, want: true},
		{name: "beyond the skew", logout: -defaults.SIDClockSkew - time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := miniClient(t)
			rev := newRevocations(t, c, redisadapter.WithKeyPrefix(uniquePrefix(t, c)))
			l := sessionadapter.Logout{Issuer: b.Issuer, Subject: b.Subject, SessionID: b.SessionID, IssuedAt: login.Add(tt.logout)}
			if err := rev.Revoke(ctx, l, time.Hour); err != nil {
				t.Fatal(err)
			}
			if got, err := rev.Revoked(ctx, b); err != nil || got != tt.want {
				t.Errorf("Revoked = %v, %v, want %v", got, err, tt.want)
			}
		})
	}
}
