// Package pgadapter shares session bindings, revocations and the jti
// replay cache between replicas through PostgreSQL, for OpenID Connect
// Back-Channel Logout 1.0 §2.6 (jti replay) and §2.7 (logout actions)
// (https://openid.net/specs/openid-connect-backchannel-1_0.html#BCActions).
//
// [New] indexes the bindings by (iss, sid) and (iss, sub) and deletes the
// session library's rows at logout. [Revocations] records each logout in
// a table and feeds every replica's memory by LISTEN/NOTIFY plus a
// catch-up read by sequence number, so that middleware.Guard checks a
// request without a database call. Give both to
// sessionadapter.NewRevokingEnder (sessionadapter.WithStore), which
// records the revocation, then deletes. [NewReplayCache] is the
// replay.Cache for rp.WithReplayCache.
//
//	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
//	store, err := pgadapter.New(pool)          // scs's "sessions" table by default
//	rev, err := pgadapter.NewRevocations(pool) // defer rev.Close(); rev.Wait(ctx)
//	cache, err := pgadapter.NewReplayCache(pool)
//	ender, err := sessionadapter.NewRevokingEnder(rev, sessionadapter.WithStore(store))
//	h, err := rp.NewHandler(verifier, ender, rp.WithReplayCache(cache))
//
// # A pgxpool.Pool, not a *sql.DB
//
// The revocation feed LISTENs, and a LISTEN belongs to one connection for
// as long as it listens: database/sql hands connections out per call and
// offers no way to wait for a notification, while pgx can take a
// connection out of its pool for good (Hijack) and wait on it. So every
// constructor takes a *pgxpool.Pool. An application on database/sql
// (lib/pq, pgx's stdlib) opens a pgxpool from the same DSN beside its
// *sql.DB; the feed holds one connection of it.
//
// # Schema
//
// The tables are created on first use: setup takes no step, every
// statement is idempotent (IF NOT EXISTS), so replicas starting together
// or again are safe (they take an advisory lock to run it), and the schema
// only ever changes by adding (a table, an index, a column with a
// default), so a rolling upgrade needs no downtime and an old replica
// runs on a new schema. A table found gone (dropped) is created again by
// the next call. WithSchema puts the tables in another schema, created
// if missing. A database user without CREATE can have an operator run the
// same DDL as a migration instead (for schema "public"):
//
//	CREATE TABLE IF NOT EXISTS "public".bclogout_bindings (
//	  local_id   text PRIMARY KEY,
//	  iss        text NOT NULL,
//	  sub        text NOT NULL,
//	  sid        text NOT NULL,
//	  login_ms   bigint NOT NULL,
//	  expires_ms bigint NOT NULL,
//	  id_token   text NOT NULL DEFAULT ''
//	);
//	CREATE INDEX IF NOT EXISTS bclogout_bindings_sid ON "public".bclogout_bindings (iss, sid) WHERE sid <> '';
//	CREATE INDEX IF NOT EXISTS bclogout_bindings_sub ON "public".bclogout_bindings (iss, sub) WHERE sub <> '';
//	CREATE INDEX IF NOT EXISTS bclogout_bindings_expires ON "public".bclogout_bindings (expires_ms);
//	CREATE SEQUENCE IF NOT EXISTS "public".bclogout_revocations_seq;
//	CREATE TABLE IF NOT EXISTS "public".bclogout_revocations (
//	  iss      text NOT NULL,
//	  sub      text NOT NULL,
//	  sid      text NOT NULL,
//	  at_ms    bigint NOT NULL,
//	  until_ms bigint NOT NULL,
//	  seq      bigint NOT NULL,
//	  PRIMARY KEY (iss, sub, sid)
//	);
//	CREATE INDEX IF NOT EXISTS bclogout_revocations_seq ON "public".bclogout_revocations (seq);
//	CREATE INDEX IF NOT EXISTS bclogout_revocations_until ON "public".bclogout_revocations (until_ms);
//	CREATE TABLE IF NOT EXISTS "public".bclogout_replay (
//	  pair     text PRIMARY KEY,
//	  until_ms bigint NOT NULL
//	);
//	CREATE INDEX IF NOT EXISTS bclogout_replay_until ON "public".bclogout_replay (until_ms);
//
// Times are Unix milliseconds written and compared with the adapter's
// clock (WithClock), never the server's now(): the clock that validated
// a token is the one that dates it. The revocations' seq is taken from a
// sequence of its own rather than a bigserial column, because an upsert
// that raises a revocation must number it again for the feed to read it.
// The one row with an empty issuer, sub and sid (no logout has an empty
// issuer) is the loss mark: seq holds its random id, at_ms its floor (see
// Revocations).
//
// # Session data
//
// EndSessions deletes the ended sessions' rows from the session
// library's table in the statement that deletes their bindings, so in one
// transaction: a logout that fails (the database down, a timeout) changed
// nothing, and the OP's retry ends it all. WithSessionTable names the
// table and key column: "sessions" and "token" (the default) for scs's
// postgresstore and pgxstore, "http_sessions" and "key" for gorilla's
// pgstore. The table must exist when the first logout comes.
package pgadapter
