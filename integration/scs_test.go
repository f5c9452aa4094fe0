package integration_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/alexedwards/scs/redisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/alicebob/miniredis/v2"
	redigo "github.com/gomodule/redigo/redis"
	"github.com/redis/go-redis/v9"

	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/scsadapter"
)

// scsLib is the common part of the scs rows: every request runs inside
// sm.LoadAndSave, the login is stashed by scsadapter.New's Stash (a new
// token, the LocalID), and a touched session is written back when the response
// is, as scs does.
func scsLib(sm *scs.SessionManager) sessionLib {
	sess := scsadapter.New(sm)
	return sessionLib{
		wrap:  sm.LoadAndSave,
		login: sess.Stash,
		touch: func(r *http.Request) (func(http.ResponseWriter) error, error) {
			return func(http.ResponseWriter) error {
				sm.Put(r.Context(), "seen", time.Now().UnixNano())
				return nil // LoadAndSave commits it with the response
			}, nil
		},
		lookup: sess.Lookup,
		end:    sess.End,
	}
}

// scsMemstore: scs's memstore, deleted through scsadapter.New's
// DeleteSession (a sessionadapter.Deleter) by a
// Memory store that binds the sessions.
func scsMemstore(t *testing.T, env matrixEnv) sessionLib {
	mem := memstore.NewWithCleanupInterval(0) // no goroutine to outlive the test
	sm := scs.New()
	sm.Store = mem
	del := scsadapter.New(sm).(sessionadapter.Deleter)
	index, err := sessionadapter.NewMemory(sessionadapter.WithDeleter(del), sessionadapter.WithClock(env.clock.Now),
		sessionadapter.WithLogger(env.logger))
	if err != nil {
		t.Fatal(err)
	}
	lib := scsLib(sm)
	lib.store, lib.rev = index, memoryRevocations(t, env)
	lib.alive = func(t testing.TB, token string) bool {
		_, found, err := mem.Find(token)
		if err != nil {
			t.Fatal(err)
		}
		return found
	}
	return lib
}

// scsRedisstore: scs's redisstore (redigo), bound and deleted at its key
// format by redisadapter (go-redis), revocations fed from the same Redis.
func scsRedisstore(t *testing.T, env matrixEnv) sessionLib {
	mr := miniredis.RunT(t)
	pool := &redigo.Pool{MaxIdle: 4, Dial: func() (redigo.Conn, error) { return redigo.Dial("tcp", mr.Addr()) }}
	t.Cleanup(func() { _ = pool.Close() })
	sm := scs.New()
	sm.Store = redisstore.New(pool) // keys scs:session:TOKEN
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	store := redisStore(t, env, rdb, "scs:session:%s")
	lib := scsLib(sm)
	lib.store, lib.rev = store, redisRevocations(t, env, rdb, "{bclogout}:")
	lib.alive = redisAlive(rdb, store)
	return lib
}
