package pgadapter

import (
	"log/slog"
	"strings"
	"time"

	"github.com/bclogout/bclogout/internal/errs"
)

// defaultSchema is where the adapter's tables live by default.
const defaultSchema = "public"

// defaultMaxStaleness is how long, by default, Revocations may go without
// hearing from PostgreSQL before its Revoked fails closed; see
// WithMaxStaleness.
const defaultMaxStaleness = 3 * time.Second

// Option configures New, NewRevocations and NewReplayCache. Each With…
// function names the constructors that take it; giving one to another is
// an error wrapping bclogout.ErrInvalidConfig, never silently ignored, and
// so is the zero Option.
type Option struct {
	name  string
	ctors ctor
	apply func(*config)
}

type ctor uint8

const (
	ctorStore ctor = 1 << iota
	ctorRevocations
	ctorReplay
)

func (c ctor) String() string {
	switch c {
	case ctorStore:
		return "New"
	case ctorRevocations:
		return "NewRevocations"
	}
	return "NewReplayCache"
}

type config struct {
	schema    string
	sessTable []string // the session library's table, maybe schema-qualified
	sessKey   string
	logger    *slog.Logger
	now       func() time.Time
	maxStale  time.Duration
}

// WithSchema sets the schema of the adapter's tables; the default is
// "public". A schema other than "public" is created on first use if it
// does not exist. Replicas that share revocations and sessions use the
// same schema. New, NewRevocations and NewReplayCache take it.
func WithSchema(name string) Option {
	return Option{"WithSchema", ctorStore | ctorRevocations | ctorReplay, func(c *config) { c.schema = name }}
}

// WithLogger sets the logger; the default is slog.Default(). New and
// NewRevocations take it.
func WithLogger(l *slog.Logger) Option {
	return Option{"WithLogger", ctorStore | ctorRevocations, func(c *config) { c.logger = l }}
}

// WithClock sets the clock that dates binding expiries, revocations,
// replay windows and the feed's staleness; the default is time.Now. Every
// comparison with a stored time is made with this clock's reading, never
// PostgreSQL's now(). New, NewRevocations and NewReplayCache take it.
func WithClock(now func() time.Time) Option {
	return Option{"WithClock", ctorStore | ctorRevocations | ctorReplay, func(c *config) { c.now = now }}
}

// WithSessionTable sets where the session library keeps session data:
// the table (optionally schema-qualified, "app.sessions") and its column
// holding the session ID. The default, "sessions" and "token", is the
// table of scs's postgresstore and pgxstore; gorilla's pgstore uses
// "http_sessions" and "key" (a bytea column, which is matched on the
// UTF-8 bytes of the ID). New takes it.
func WithSessionTable(table, keyColumn string) Option {
	return Option{"WithSessionTable", ctorStore, func(c *config) {
		c.sessTable, c.sessKey = strings.Split(table, "."), keyColumn
	}}
}

// WithMaxStaleness bounds how old the replica's view of the revocations
// may be: a revocation recorded by any replica is enforced by this one
// within d, or this one's Revoked fails (the guard answers 503) until the
// feed catches up. The default is 3 s. The feed reads PostgreSQL on every
// notification and at least every d/4 (at most 500 ms), so a healthy feed
// is never stale. NewRevocations takes it.
func WithMaxStaleness(d time.Duration) Option {
	return Option{"WithMaxStaleness", ctorRevocations, func(c *config) { c.maxStale = d }}
}

func newConfig(k ctor, opts []Option) (config, error) {
	c := config{
		schema:    defaultSchema,
		sessTable: []string{"sessions"},
		sessKey:   "token",
		logger:    slog.Default(),
		now:       time.Now,
		maxStale:  defaultMaxStaleness,
	}
	for _, o := range opts {
		switch {
		case o.apply == nil:
			return c, errs.Config("pgadapter", "zero option")
		case o.ctors&k == 0:
			return c, errs.Config("pgadapter", "%s does not take %s", k, o.name)
		}
		o.apply(&c)
	}
	switch {
	case c.schema == "":
		return c, errs.Config("pgadapter", "empty schema")
	case len(c.sessTable) > 2 || c.sessKey == "" || strings.ContainsRune(strings.Join(c.sessTable, ""), 0) || containsEmpty(c.sessTable):
		return c, errs.Config("pgadapter", "session table %q, column %q: want [schema.]table and a column", strings.Join(c.sessTable, "."), c.sessKey)
	case c.logger == nil:
		return c, errs.Config("pgadapter", "nil logger")
	case c.now == nil:
		return c, errs.Config("pgadapter", "nil clock")
	case c.maxStale < 4*time.Millisecond:
		return c, errs.Config("pgadapter", "staleness bound %v is under 4ms", c.maxStale)
	}
	return c, nil
}

func containsEmpty(parts []string) bool {
	for _, p := range parts {
		if p == "" {
			return true
		}
	}
	return false
}
