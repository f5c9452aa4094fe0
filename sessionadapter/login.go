package sessionadapter

import (
	stdjson "encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/bclogout/bclogout/internal/strictjson"
)

// ErrInvalidLogin means an ID token's claims cannot be decoded or lack
// what ties a session to the OP: iss, sub or iat (all REQUIRED by OpenID
// Connect Core 1.0 §2). LoginFromIDToken wraps it with the detail.
var ErrInvalidLogin = errors.New("sessionadapter: invalid login claims")

// Login is what an app learns at login, from the ID token it just
// validated, to tie its session to the OP's: the binding the guard checks
// and a store indexes. Build it with LoginFromIDToken.
type Login struct {
	// Issuer is the ID token's iss claim.
	Issuer string
	// Subject is the ID token's sub claim.
	Subject string
	// SessionID is the ID token's sid claim (Back-Channel Logout §2.1);
	// empty when the OP sends none, and then only sub-scoped logouts find
	// the session.
	SessionID string
	// IssuedAt is the ID token's iat claim: the login time on the OP's
	// clock, compared with a logout token's iat (also the OP's clock), so
	// clock skew between OP and RP does not matter.
	IssuedAt time.Time
}

// Binding returns the Binding of the local session localID for this login,
// expiring at expires (zero: the store's default lifetime).
func (l Login) Binding(localID string, expires time.Time) Binding {
	return Binding{
		Issuer: l.Issuer, Subject: l.Subject, SessionID: l.SessionID,
		LocalID: localID, LoginTime: l.IssuedAt, Expires: expires,
	}
}

// IDToken is a validated ID token as OIDC client libraries return it:
// coreos/go-oidc's *oidc.IDToken has this method, and RawClaims adapts the
// JSON payload of any other. The token must already be verified
// (signature, iss, aud, exp, nonce): LoginFromIDToken only reads it.
type IDToken interface {
	// Claims decodes the token's JSON claims into v, as json.Unmarshal.
	// LoginFromIDToken passes a *encoding/json.RawMessage and reads the
	// raw claims itself, so Claims must be able to fill one (any
	// encoding/json based implementation, go-oidc's included, can).
	Claims(v any) error
}

// RawClaims is the JSON claims set (the decoded payload) of a verified ID
// token, for libraries that give the claims rather than an IDToken.
type RawClaims []byte

// Claims decodes c into v with the strict decoder LoginFromIDToken uses:
// exact member names, no duplicate names, valid UTF-8.
func (c RawClaims) Claims(v any) error { return strictjson.Unmarshal(c, v) }

var _ IDToken = RawClaims(nil)

// loginClaims are the claims LoginFromIDToken reads, by the rules rp reads
// a logout token's with (internal/strictjson): iat is a NumericDate,
// fractions allowed, as some OPs send.
type loginClaims struct {
	Issuer    string            `json:"iss"`
	Subject   string            `json:"sub"`
	SessionID string            `json:"sid"`
	IssuedAt  strictjson.Number `json:"iat"`
}

// rawClaims returns the JSON claims of tok without decoding them: an
// IDToken's Claims (go-oidc's among them) decodes with encoding/json,
// whose case-insensitive, last-duplicate-wins matching LoginFromIDToken
// must not inherit, so it asks only for the raw bytes and decodes those
// strictly itself.
func rawClaims(tok IDToken) ([]byte, error) {
	if c, ok := tok.(RawClaims); ok {
		return c, nil
	}
	var raw stdjson.RawMessage
	if err := tok.Claims(&raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// LoginFromIDToken reads iss, sub, sid and iat from a verified ID token, in
// one call and without this package depending on any OIDC library:
//
//	idt, err := verifier.Verify(ctx, rawIDToken) // coreos/go-oidc
//	login, err := sessionadapter.LoginFromIDToken(idt)
//
// The claims are decoded strictly, as rp decodes a logout token's: member
// names match exactly (a custom "IAT" claim is not iat), and a duplicate
// member name or invalid UTF-8 is ErrInvalidLogin. A missing or malformed
// iss, sub or iat is ErrInvalidLogin too, wrapped with the detail, for
// errors.Is. A token without sid gives a Login that only logout tokens
// with a sub can end (Back-Channel Logout 1.0 §2.4).
func LoginFromIDToken(tok IDToken) (Login, error) {
	if tok == nil {
		return Login{}, fmt.Errorf("%w: nil id token", ErrInvalidLogin)
	}
	raw, err := rawClaims(tok)
	if err != nil {
		return Login{}, fmt.Errorf("%w: %w", ErrInvalidLogin, err)
	}
	var c loginClaims
	if len(raw) == 0 || raw[0] != '{' {
		return Login{}, fmt.Errorf("%w: claims are not a JSON object", ErrInvalidLogin)
	}
	if err := strictjson.Unmarshal(raw, &c); err != nil {
		return Login{}, fmt.Errorf("%w: %v", ErrInvalidLogin, err)
	}
	iat, ok := strictjson.NumericDate(c.IssuedAt.F)
	switch {
	case c.Issuer == "":
		return Login{}, fmt.Errorf("%w: no iss", ErrInvalidLogin)
	case c.Subject == "":
		return Login{}, fmt.Errorf("%w: no sub", ErrInvalidLogin)
	case !c.IssuedAt.OK || !ok:
		return Login{}, fmt.Errorf("%w: iat missing, not a number or out of range", ErrInvalidLogin)
	}
	return Login{Issuer: c.Issuer, Subject: c.Subject, SessionID: c.SessionID, IssuedAt: iat}, nil
}
