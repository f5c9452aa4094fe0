package pgadapter_test

import (
	"context"
	"log"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bclogout/bclogout/rp"
	"github.com/bclogout/bclogout/sessionadapter"
	"github.com/bclogout/bclogout/sessionadapter/pgadapter"
)

// Every replica runs the same pieces over one PostgreSQL: the store (here
// over gorilla pgstore's table), the revocation feed, the Ender that
// composes them, and the replay cache. An app on database/sql opens this
// pool from the same DSN as its *sql.DB. (Not run: it needs a server.)
func Example() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	store, err := pgadapter.New(pool, pgadapter.WithSessionTable("http_sessions", "key"))
	if err != nil {
		log.Fatal(err)
	}
	rev, err := pgadapter.NewRevocations(pool) // in-memory revocations fed by LISTEN/NOTIFY
	if err != nil {
		log.Fatal(err)
	}
	defer rev.Close()
	cache, err := pgadapter.NewReplayCache(pool)
	if err != nil {
		log.Fatal(err)
	}
	ender, err := sessionadapter.NewRevokingEnder(rev, sessionadapter.WithStore(store))
	if err != nil {
		log.Fatal(err)
	}
	if err := rev.Wait(ctx); err != nil { // or let the guard answer 503 meanwhile
		log.Fatal(err)
	}
	var verifier *rp.Verifier // rp.NewVerifier(issuer, clientID, keys)
	h, err := rp.NewHandler(verifier, ender, rp.WithReplayCache(cache))
	_, _ = h, err // mount h at the back-channel logout URI; middleware.Guard takes rev
}
