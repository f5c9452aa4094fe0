package sessionadapter_test

import (
	"context"
	"testing"
	"time"

	"github.com/bclogout/bclogout/sessionadapter"
)

// TestLoginCaseVariantClaimDoesNotSetIat:
// LoginFromIDToken used to decode the ID token's claims with encoding/json
// (login.go loginClaims, RawClaims.Claims), which matches member names case-insensitively and
// keeps the last duplicate: an "IAT" member (a custom claim, e.g. one an
// OP maps from a user attribute) replaces the real iat. rp holds
// the logout token to exact, duplicate-free member names precisely so
// that "typ"/"TYP" cannot mean two things; the login time it is compared
// with is read without that rule. With a far-future login time no
// revocation ever reaches the session: an admin's logout of that user is
// never enforced by the guard.
func TestLoginCaseVariantClaimDoesNotSetIat(t *testing.T) {
	iat := time.Unix(1_700_000_000, 0)
	claims := `{"iss":"https://op.example","sub":"mallory","sid":"s1","iat":1700000000,"IAT":253402300000}`
	login, err := sessionadapter.LoginFromIDToken(sessionadapter.RawClaims(claims))
	if err != nil {
		t.Fatal(err)
	}
	if !login.IssuedAt.Equal(iat) {
		t.Errorf("login time %v, want the iat claim %v", login.IssuedAt.UTC(), iat.UTC())
	}
	rev, err := sessionadapter.NewMemoryRevocations()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	logout := sessionadapter.Logout{Issuer: "https://op.example", Subject: "mallory", IssuedAt: iat.Add(time.Hour)}
	if err := rev.Revoke(ctx, logout, time.Hour); err != nil {
		t.Fatal(err)
	}
	if revoked, _ := rev.Revoked(ctx, login.Binding("local-1", time.Time{})); !revoked {
		t.Error("a logout an hour after the login does not revoke the session")
	}
}
