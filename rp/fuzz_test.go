package rp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bclogout/bclogout/internal/opkit"
	"github.com/bclogout/bclogout/rp"
)

// sentinels are every failure class a Verify or Handler error may carry.
var sentinels = []error{
	rp.ErrMalformed, rp.ErrEncryption, errAlgorithm, errUnknownKey,
	errBadSignature, errType, errCritical, errForbiddenHeader,
	rp.ErrIssuer, rp.ErrAudience, errIssuedAt, errExpired, errExpMissing, errJTI,
	errEvents, errSubject, errSessionIDRequired, errNonce,
	rp.ErrReplay, rp.ErrTemporary, errRequest,
}

func isSentinel(err error) bool {
	for _, s := range sentinels {
		if isErr(err, s) {
			return true
		}
	}
	return false
}

// variantSeeds mints every fakeop variant for the fuzz corpora.
func variantSeeds(f *testing.F) (opkit.Minter, []string) {
	m, err := opkit.NewMinter(testIssuer, testClientID, testNow)
	if err != nil {
		f.Fatal(err)
	}
	var out []string
	for _, vr := range opkit.Variants() {
		if tok, err := vr.Mint(m); err == nil {
			out = append(out, tok)
		}
	}
	return m, out
}

func FuzzVerify(f *testing.F) {
	m, seeds := variantSeeds(f)
	for _, s := range seeds {
		f.Add(s)
	}
	f.Add("")
	f.Add("....")
	f.Add("e30.e30.")
	v := variantVerifier(f, m, false)
	f.Fuzz(func(t *testing.T, token string) {
		ev, err := v.Verify(context.Background(), token)
		if err != nil {
			if ev != nil {
				t.Fatal("event returned with an error")
			}
			if !isSentinel(err) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if ev.Issuer != testIssuer || ev.JTI == "" || (ev.Subject == "" && ev.SessionID == "") {
			t.Fatalf("accepted an invalid event: %+v", ev)
		}
	})
}

func FuzzHandler(f *testing.F) {
	m, seeds := variantSeeds(f)
	for _, s := range seeds {
		f.Add(http.MethodPost, "application/x-www-form-urlencoded", formBody(s))
	}
	f.Add(http.MethodGet, "", "")
	f.Add(http.MethodPost, "application/json", `{"logout_token":"x"}`)
	f.Add(http.MethodPost, "application/x-www-form-urlencoded", "logout_token=a&logout_token=b")
	f.Add(http.MethodPost, "application/x-www-form-urlencoded; charset=utf-8", "logout_token=%zz;x")
	v := variantVerifier(f, m, false)
	env := newHandlerEnv(f, v)
	f.Fuzz(func(t *testing.T, method, contentType, body string) {
		if !validMethod(method) {
			return
		}
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Method = method
		r.Header.Set("Content-Type", contentType)
		w := httptest.NewRecorder()
		env.h.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK:
			return
		case http.StatusBadRequest, http.StatusMethodNotAllowed, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		default:
			t.Fatalf("status %d", w.Code)
		}
		var b map[string]string
		if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil || b["error"] == "" {
			t.Fatalf("error body %q: %v", w.Body, err)
		}
		if w.Header().Get("Cache-Control") != "no-store" {
			t.Fatal("no Cache-Control: no-store")
		}
	})
}

// validMethod keeps methods net/http could have parsed off the wire.
func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}
