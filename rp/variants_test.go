package rp_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/bclogout/bclogout/internal/opkit"
	"github.com/bclogout/bclogout/jwks"
	"github.com/bclogout/bclogout/rp"
)

// variantWant is the sentinel each fakeop variant must be rejected with
// (nil: accepted). A variant missing here fails the test, so a new attack
// in fakeop cannot go untested.
var variantWant = map[string]error{
	"valid":                            nil,
	"valid-typ-jwt":                    nil,
	"valid-no-typ":                     nil,
	"valid-typ-application-logout+jwt": nil,
	"valid-no-exp":                     nil,
	"valid-sub-only":                   nil,
	"valid-sid-only":                   nil,
	"valid-aud-array":                  nil,
	"valid-keycloak":                   nil,
	"valid-nbf":                        nil,
	"valid-key-without-alg":            nil,
	"valid-jwe":                        nil,
	"alg-none":                         errAlgorithm,
	"alg-none-uppercase":               errAlgorithm,
	"hs256-rsa-public-key":             errAlgorithm,
	"hs256-rsa-public-key-der":         errAlgorithm,
	"ps256-on-rs256-key":               errAlgorithm,
	"alg-not-allowed":                  errAlgorithm,
	"tampered-payload":                 errBadSignature,
	"unknown-kid":                      errUnknownKey,
	"bad-signature":                    errBadSignature,
	"jku":                              errForbiddenHeader,
	"x5u":                              errForbiddenHeader,
	"embedded-jwk":                     errForbiddenHeader,
	"x5c":                              errForbiddenHeader,
	"crit-unknown":                     errCritical,
	"typ-at+jwt":                       errType,
	"typ-secevent+jwt":                 errType,
	"wrong-iss":                        rp.ErrIssuer,
	"iss-trailing-slash":               rp.ErrIssuer,
	"wrong-aud":                        rp.ErrAudience,
	"no-aud":                           rp.ErrAudience,
	"no-iat":                           errIssuedAt,
	"iat-future":                       errIssuedAt,
	"iat-too-old":                      errIssuedAt,
	"iat-string":                       errIssuedAt,
	"expired":                          errExpired,
	"exp-string":                       errExpired,
	"no-jti":                           errJTI,
	"empty-jti":                        errJTI,
	"jti-number":                       errJTI,
	"no-sub-no-sid":                    errSubject,
	"empty-sub":                        errSubject,
	"empty-sid":                        errSubject,
	"sub-number":                       errSubject,
	"no-events":                        errEvents,
	"events-array":                     errEvents,
	"events-string":                    errEvents,
	"events-missing-member":            errEvents,
	"events-member-string":             errEvents,
	"nonce":                            errNonce,
	"nonce-empty":                      errNonce,
	"not-a-jwt":                        rp.ErrMalformed,
	"two-parts":                        rp.ErrMalformed,
	"bad-base64":                       rp.ErrMalformed,
	"header-not-json":                  rp.ErrMalformed,
	"payload-not-json":                 rp.ErrMalformed,
	"payload-array":                    rp.ErrMalformed,
	"jwe-unknown-key":                  rp.ErrEncryption,
}

// variantVerifier is an RP configured as opkit's Minter documents.
func variantVerifier(t testing.TB, m opkit.Minter, withoutAlg bool) *rp.Verifier {
	t.Helper()
	pub := m.Key.PublicJWK()
	if withoutAlg {
		pub = m.Key.PublicJWKWithoutAlg()
	}
	src, err := jwks.ParseKeySet(opkit.JWKS(pub))
	if err != nil {
		t.Fatal(err)
	}
	dec, err := jwks.ParsePrivateSet(m.Encryption.PrivateJWKS())
	if err != nil {
		t.Fatal(err)
	}
	v, err := rp.NewVerifier(m.Issuer, m.Audience, src, rp.WithClock(clock), rp.WithDecryptionKeys(dec))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestFakeOPVariants(t *testing.T) {
	m, err := opkit.NewMinter(testIssuer, testClientID, testNow)
	if err != nil {
		t.Fatal(err)
	}
	plain, withoutAlg := variantVerifier(t, m, false), variantVerifier(t, m, true)
	for _, vr := range opkit.Variants() {
		t.Run(vr.Name, func(t *testing.T) {
			want, ok := variantWant[vr.Name]
			if !ok {
				t.Fatalf("variant %q has no expectation in variantWant; add one", vr.Name)
			}
			if vr.Valid != (want == nil) {
				t.Fatalf("fakeop says Valid=%v, variantWant says %v", vr.Valid, want)
			}
			token, err := vr.Mint(m)
			if err != nil {
				t.Fatal(err)
			}
			v := plain
			if vr.Name == "valid-key-without-alg" {
				v = withoutAlg
			}
			env := newHandlerEnv(t, v)
			w := post(env.h, formBody(token))
			if want == nil {
				checkAnswer(t, w, http.StatusOK, "")
				return
			}
			checkAnswer(t, w, http.StatusBadRequest, "invalid_request")
			if len(env.rejected) != 1 || !isErr(env.rejected[0], want) {
				t.Errorf("rejected with %v, want %v", env.rejected, want)
			}
			if _, err := v.Verify(context.Background(), token); !isErr(err, want) {
				t.Errorf("Verify() error = %v, want %v", err, want)
			}
		})
	}
}
