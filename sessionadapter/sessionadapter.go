package sessionadapter

import (
	"context"
	"time"
)

// Logout names the local sessions that one validated logout token ends.
// Sessions are always scoped by issuer: the same subject at two OPs is two
// different users.
type Logout struct {
	// Issuer is the OP's issuer identifier, exactly as in the token.
	Issuer string
	// Subject is the token's sub claim; empty when the OP sent only a sid
	// (Ory Hydra does).
	Subject string
	// SessionID is the token's sid claim; empty when the OP sent only a sub.
	SessionID string
	// IssuedAt is the token's iat claim: when the OP ended the session, on
	// the OP's clock. Revocation-based stores compare it with the login
	// time of a binding, which is also on the OP's clock.
	IssuedAt time.Time
}

// Ender ends local sessions.
type Ender interface {
	// EndSessions ends every local session the logout names and reports
	// how many it ended. Ending none is not an error: the user may already
	// be logged out. An error means the logout may be incomplete; the
	// caller tells the OP to retry, so EndSessions must be safe to call
	// again with the same Logout.
	EndSessions(ctx context.Context, l Logout) (int, error)
}

// Binding ties a local session to the OP session that created it. An app
// records one at login, from the claims of the ID token it just validated:
// rp's Verifier.VerifyIDToken returns it with every field but LocalID and
// Expires set, and [Sessions.Stash] sets those.
type Binding struct {
	// Issuer is the ID token's iss claim.
	Issuer string
	// Subject is the ID token's sub claim.
	Subject string
	// SessionID is the ID token's sid claim; may be empty if the OP sends
	// none, in which case only sub-scoped logouts find the session.
	SessionID string
	// LocalID identifies the app's own session (the session store's ID).
	LocalID string
	// LoginTime is the ID token's iat claim (the OP's clock), so that it
	// can be compared with a logout token's iat without clock skew
	// between OP and RP mattering. Zero means unknown: a lookup that
	// finds a stashed login whose time it cannot read back (a session
	// serializer that changed its type) returns it zero, and
	// middleware.Guard ends such a session, since no logout can be shown
	// to predate it (fail closed, never open).
	LoginTime time.Time
	// Expires is when the local session expires; stores forget the binding
	// then. Zero means the store's default lifetime.
	Expires time.Time
	// IDToken is the raw ID token of the login, kept server-side with the
	// binding (never in the session, so a cookie session stays small) for
	// the id_token_hint of RP-Initiated Logout 1.0 §2. Empty when the app
	// gave none. Stores that keep it give it back through an
	// IDTokenHint(ctx, localID) (string, error) method, as NewMemory's and
	// redisadapter's do.
	IDToken string
}

// Store records bindings at login and ends the bound sessions at logout.
type Store interface {
	Ender
	// Bind records b, replacing any binding with the same LocalID.
	Bind(ctx context.Context, b Binding) error
	// Unbind forgets the binding of a local session, for a local logout.
	// Unbinding an unknown session is a no-op.
	Unbind(ctx context.Context, localID string) error
}
