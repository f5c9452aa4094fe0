package redisadapter_test

import (
	"context"
	"errors"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/internal/storetest"
	"github.com/bclogout/bclogout/sessionadapter/redisadapter"
)

func TestStore(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			c := be.client(t)
			storetest.Run(t, func(t *testing.T, endAll bool) storetest.Harness { return harness(t, c, endAll) })
		})
	}
}

func TestRevocations(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			c := be.client(t)
			storetest.RunRevocations(t, func(t *testing.T) sessionadapter.Revocations {
				r, err := redisadapter.NewRevocations(c, redisadapter.WithKeyPrefix(uniquePrefix(t, c)))
				if err != nil {
					t.Fatal(err)
				}
				return r
			})
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
		{name: "nil client", wantErr: sessionadapter.ErrInvalidConfig},
		{name: "foreign format", client: plain, opts: []redisadapter.Option{redisadapter.WithSessionKey("session_%s")}},
		{name: "percent literal", client: plain, opts: []redisadapter.Option{redisadapter.WithSessionKey("100%%:%s")}},
		{name: "no verb", client: plain, opts: []redisadapter.Option{redisadapter.WithSessionKey("session_")}, wantErr: sessionadapter.ErrInvalidConfig},
		{name: "two verbs", client: plain, opts: []redisadapter.Option{redisadapter.WithSessionKey("%s:%s")}, wantErr: sessionadapter.ErrInvalidConfig},
		{name: "other verb", client: plain, opts: []redisadapter.Option{redisadapter.WithSessionKey("%d:%s")}, wantErr: sessionadapter.ErrInvalidConfig},
		{name: "cluster foreign format", client: cluster, opts: []redisadapter.Option{redisadapter.WithSessionKey("session_%s")}, wantErr: sessionadapter.ErrInvalidConfig},
		{name: "cluster tagged format", client: cluster, opts: []redisadapter.Option{redisadapter.WithSessionKey("{bclogout}session_%s")}},
		{name: "cluster tag after id", client: cluster, opts: []redisadapter.Option{redisadapter.WithSessionKey("session_%s{bclogout}")}, wantErr: sessionadapter.ErrInvalidConfig},
		{name: "cluster other tag", client: cluster, opts: []redisadapter.Option{redisadapter.WithSessionKey("{app}session_%s")}, wantErr: sessionadapter.ErrInvalidConfig},
		{name: "cluster untagged prefix", client: cluster, opts: []redisadapter.Option{redisadapter.WithKeyPrefix("bclogout:")}, wantErr: sessionadapter.ErrInvalidConfig},
		{name: "cluster empty tag", client: cluster, opts: []redisadapter.Option{redisadapter.WithKeyPrefix("{}:")}, wantErr: sessionadapter.ErrInvalidConfig},
		{name: "zero lifetime", client: plain, opts: []redisadapter.Option{redisadapter.WithSessionLifetime(0)}, wantErr: sessionadapter.ErrInvalidConfig},
		{name: "nil logger", client: plain, opts: []redisadapter.Option{redisadapter.WithLogger(nil)}, wantErr: sessionadapter.ErrInvalidConfig},
		{name: "nil clock", client: plain, opts: []redisadapter.Option{redisadapter.WithClock(nil)}, wantErr: sessionadapter.ErrInvalidConfig},
		{name: "nil option", client: plain, opts: []redisadapter.Option{nil}, wantErr: sessionadapter.ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var client redis.UniversalClient
			if tt.client != nil {
				client = tt.client
			}
			if _, err := redisadapter.New(client, tt.opts...); !errors.Is(err, tt.wantErr) {
				t.Fatalf("New err = %v, want %v", err, tt.wantErr)
			}
			if _, err := redisadapter.NewRevocations(client, tt.opts...); tt.client == nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("NewRevocations err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

var _ = context.Background
