package redisadapter_test

import (
	"errors"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/internal/redistest"
	"github.com/bclogout/bclogout/sessionadapter/redisadapter"
)

// TestNewRevocationsRefusesReplicaReads: Revoke writes to the master, so
// a feed whose XREAD and HSCAN a client routes to replicas could miss a
// revocation for ever while looking fresh (a replica whose master link is
// down still answers). NewRevocations refuses such a client. The
// constructor does no I/O, so the table runs without a cluster; the last
// row runs the feed on the real cluster (BCLOGOUT_REDIS_CLUSTER) with a
// client that reads masters.
func TestNewRevocationsRefusesReplicaReads(t *testing.T) {
	addrs := []string{"127.0.0.1:1"}
	tests := []struct {
		name    string
		client  func() redis.UniversalClient
		wantErr error
	}{
		{name: "cluster ReadOnly", client: func() redis.UniversalClient {
			return redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ReadOnly: true})
		}, wantErr: errs.ErrInvalidConfig},
		{name: "cluster RouteRandomly", client: func() redis.UniversalClient {
			return redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, RouteRandomly: true})
		}, wantErr: errs.ErrInvalidConfig},
		{name: "cluster RouteByLatency", client: func() redis.UniversalClient {
			return redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, RouteByLatency: true})
		}, wantErr: errs.ErrInvalidConfig},
		{name: "failover cluster ReplicaOnly", client: func() redis.UniversalClient {
			return redis.NewFailoverClusterClient(&redis.FailoverOptions{MasterName: "m", SentinelAddrs: addrs, ReplicaOnly: true})
		}, wantErr: errs.ErrInvalidConfig},
		{name: "failover cluster RouteRandomly", client: func() redis.UniversalClient {
			return redis.NewFailoverClusterClient(&redis.FailoverOptions{MasterName: "m", SentinelAddrs: addrs, RouteRandomly: true})
		}, wantErr: errs.ErrInvalidConfig},
		{name: "universal ReadOnly", client: func() redis.UniversalClient {
			return redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{"127.0.0.1:1", "127.0.0.1:2"}, ReadOnly: true})
		}, wantErr: errs.ErrInvalidConfig},
		{name: "cluster reading masters", client: func() redis.UniversalClient {
			return redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.client()
			t.Cleanup(func() { _ = c.Close() })
			r, err := redisadapter.NewRevocations(c)
			if r != nil {
				_ = r.Close()
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("NewRevocations = %v, want %v", err, tt.wantErr)
			}
		})
	}
	t.Run("real cluster reads masters", func(t *testing.T) {
		c := redistest.ClusterClient(t)
		newRevocations(t, c, redisadapter.WithKeyPrefix(uniquePrefix(t, c))) // loads, or fails the test
	})
}
