package rp

import (
	"context"
	"fmt"
	"strings"

	"github.com/bclogout/bclogout/internal/defaults"
	"github.com/bclogout/bclogout/sessionadapter"
)

// VerifyIDToken validates the raw ID token an app got from the OP's token
// endpoint and returns the binding of the login (Issuer, Subject, SessionID,
// LoginTime from iat, and IDToken; LocalID and Expires are the session
// library's to set, in sessionadapter.Sessions.Stash), so that an app can hand
// the front door the token itself: its issuer's keys and policy judge it, as
// they judge a logout token. The decoding (strict JSON), the header rules (no
// key-bearing header, no crit), the algorithms, the key selection and the
// decryption of an encrypted token are a logout token's; then the claim rules
// of OpenID Connect Core 1.0 §3.1.3.7 that need no login flow: iss exactly a
// configured issuer; aud containing the client ID and, with
// WithTrustedAudiences, nothing untrusted; azp, when aud names several
// audiences, the client ID; exp present and in the future (within the clock
// skew), and iat present and not in the future (within the clock skew, and
// never more than the one-minute OP clock skew, whatever WithClockSkew
// says); sub a non-empty string, and
// sid one when present. typ must be absent or JWT, and the token must carry no
// events claim, so a logout token or a Security Event Token is never taken for
// an ID token (RFC 8725 §3.11).
//
// nonce and at_hash belong to the login flow (the authorization request
// this browser made): VerifyIDToken does not check them. The app's OIDC
// library must still validate the login (go-oidc's Verify and its nonce
// comparison) before the app trusts it.
//
// Errors wrap this package's sentinels (ErrSignature, ErrAudience,
// ErrTime, ErrClaims, …); ErrTemporary when the keys cannot be fetched.
func (v *Verifier) VerifyIDToken(ctx context.Context, rawIDToken string) (sessionadapter.Binding, error) {
	var t token
	tn, err := v.openFor(rawIDToken, &t)
	if err == nil {
		err = tn.verifyIDToken(ctx, &t)
	}
	if err != nil {
		return sessionadapter.Binding{}, fmt.Errorf("rp: ID token refused: %w", err)
	}
	iat, _ := numericDate(t.claims.Iat)
	c := &t.claims
	return sessionadapter.Binding{Issuer: tn.issuer, Subject: c.Sub.s, SessionID: c.Sid.s, LoginTime: iat, IDToken: rawIDToken}, nil
}

// verifyIDToken checks a parsed ID token whose iss is t's issuer: the
// header, key and signature as verify does, then the claims.
func (t *tenant) verifyIDToken(ctx context.Context, tok *token) error {
	if t.opts.requireEncrypt && !tok.encrypted {
		return fmt.Errorf("%w: token is not encrypted but encryption is required", ErrEncryption)
	}
	if typ := tok.header.Typ; typ != nil && !strings.EqualFold(*typ, "JWT") {
		return fmt.Errorf("%w: typ %q is not an ID token's", ErrSignature, clip(*typ))
	}
	alg, ok := t.algs[tok.header.Alg]
	if !ok {
		return fmt.Errorf("%w: algorithm %q not allowed", ErrSignature, clip(tok.header.Alg))
	}
	if err := t.checkSignature(ctx, tok, alg); err != nil {
		return err
	}
	return t.checkIDClaims(&tok.claims)
}

// checkIDClaims applies Core 1.0 §3.1.3.7's claim rules that need no
// login flow (iss was matched by the caller).
func (t *tenant) checkIDClaims(c *claims) error {
	if err := t.checkAudience(&c.Aud); err != nil {
		return err
	}
	if c.Aud.list.len() > 1 && c.Azp.present && (!c.Azp.ok || c.Azp.s != t.clientID) {
		return fmt.Errorf("%w: azp is not %q", ErrAudience, t.clientID)
	}
	iat, ok := numericDate(c.Iat)
	if !ok {
		return fmt.Errorf("%w: iat missing or not a number", ErrTime)
	}
	now := t.opts.now()
	if iat.After(now.Add(min(t.opts.skew, defaults.OPClockSkew))) {
		// Core 1.0 §3.1.3.7 step 10. The login is dated by this iat, and
		// logouts without an OP date (front-channel, a Redis loss) by
		// this RP's clock plus the OP clock skew (defaults.OPDate): an OP
		// clock further ahead would sign users in whom those logouts
		// could never end. A wider WithClockSkew therefore widens exp's
		// tolerance, not this one.
		return fmt.Errorf("%w: iat %v is in the future (now %v)", ErrTime, iat.UTC(), now.UTC())
	}
	exp, ok := numericDate(c.Exp)
	if !ok {
		return fmt.Errorf("%w: exp missing or not a number", ErrTime)
	}
	if !now.Before(exp.Add(t.opts.skew)) {
		return fmt.Errorf("%w: exp %v has passed (now %v)", ErrTime, exp.UTC(), now.UTC())
	}
	switch {
	case !c.Sub.ok || c.Sub.s == "":
		return fmt.Errorf("%w: sub missing or not a non-empty string", ErrClaims)
	case c.Sid.present && (!c.Sid.ok || c.Sid.s == ""):
		return fmt.Errorf("%w: sid is not a non-empty string", ErrClaims)
	case c.Events.object:
		return fmt.Errorf("%w: events present: not an ID token", ErrClaims)
	}
	return nil
}
