package main

import (
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bclogout/bclogout/internal/opkit"
	"github.com/bclogout/bclogout/jwks"
	"github.com/bclogout/bclogout/rp"
	"github.com/bclogout/bclogout/sessionadapter"
)

// TestSendVariants sends every opkit variant with the command to an
// rp.Handler that trusts the key file: valid ones must be answered 200
// (exit 0), the rest 400 (exit 1).
func TestSendVariants(t *testing.T) {
	op := newTestOP(t)
	encFile := encKeyFile(t)
	decKeys, err := loadPrivateSet(encFile)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := jwks.ParseKeySet(opkit.JWKS(op.key.PublicJWK()))
	if err != nil {
		t.Fatal(err)
	}
	v, err := rp.NewVerifier(op.issuer, "demo-rp", keys, rp.WithDecryptionKeys(decKeys))
	if err != nil {
		t.Fatal(err)
	}
	store, err := sessionadapter.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	h, err := rp.NewHandler(v, store, rp.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	for _, variant := range opkit.Variants() {
		t.Run(variant.Name, func(t *testing.T) {
			want := exitNegative
			if variant.Valid {
				want = exitOK
			}
			code, out, errOut := runCmd(t, "", "send", "--to", srv.URL, "--issuer", op.issuer, "--aud", "demo-rp",
				"--key", op.keyFile, "--encrypt-to", encFile, "--variant", variant.Name)
			if code != want {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, want, out, errOut)
			}
			wantStatus := "400 Bad Request"
			if variant.Valid {
				wantStatus = "200 OK"
			}
			if !strings.HasPrefix(out, "HTTP/1.1 "+wantStatus) {
				t.Errorf("stdout %q, want the status line %q", out, wantStatus)
			}
		})
	}
	t.Run("plain token with claims and encryption", func(t *testing.T) {
		code, out, errOut := runCmd(t, "", "send", "--to", srv.URL, "--issuer", op.issuer, "--aud", "demo-rp", "--aud", "other",
			"--key", op.keyFile, "--encrypt-to", encFile, "--sid", "s-1", "--claim", "typ=Logout", "--claim", "extra=42")
		if code != exitOK {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
	})
	t.Run("throwaway key is refused", func(t *testing.T) {
		code, _, errOut := runCmd(t, "", "send", "--to", srv.URL, "--issuer", op.issuer, "--aud", "demo-rp")
		if code != exitNegative {
			t.Fatalf("exit %d, want 1", code)
		}
		if !strings.Contains(errOut, `"keys"`) {
			t.Errorf("stderr lacks the public JWK set:\n%s", errOut)
		}
	})
	t.Run("unreachable RP", func(t *testing.T) {
		code, _, _ := runCmd(t, "", "send", "--to", "http://127.0.0.1:1/x", "--issuer", op.issuer, "--aud", "demo-rp", "--key", op.keyFile)
		if code != exitFailure {
			t.Fatalf("exit %d, want %d", code, exitFailure)
		}
	})
}

func TestVerify(t *testing.T) {
	op := newTestOP(t)
	encFile := encKeyFile(t)
	enc, err := loadEncryptionKey(encFile)
	if err != nil {
		t.Fatal(err)
	}
	other, err := opkit.GenerateKey("RS256", "attacker-key")
	if err != nil {
		t.Fatal(err)
	}
	m := opkit.Minter{Key: op.key, OtherKey: other, Issuer: op.issuer, Audience: "demo-rp", Now: time.Now(), Secret: []byte("0123456789abcdef0123456789abcdef"), Encryption: enc}
	mint := func(t *testing.T, name string) string {
		t.Helper()
		v, ok := opkit.LookupVariant(name)
		if !ok {
			t.Fatalf("no variant %s", name)
		}
		tok, err := v.Mint(m)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tests := []struct {
		name       string
		variant    string
		want       int
		wantFail   string // the step marked FAIL
		wantDetail string // what its error names, when the step holds several rules
	}{
		{name: "valid", variant: "valid", want: exitOK},
		{name: "valid jwe", variant: "valid-jwe", want: exitOK},
		{name: "valid sid only", variant: "valid-sid-only", want: exitOK},
		{name: "not a jwt", variant: "not-a-jwt", want: exitNegative, wantFail: "format"},
		{name: "jwe for another key", variant: "jwe-unknown-key", want: exitNegative, wantFail: "decrypt"},
		{name: "wrong issuer", variant: "wrong-iss", want: exitNegative, wantFail: "iss"},
		{name: "jku", variant: "jku", want: exitNegative, wantFail: "header/signature", wantDetail: "forbidden header jku"},
		{name: "typ at+jwt", variant: "typ-at+jwt", want: exitNegative, wantFail: "header/signature", wantDetail: "typ"},
		{name: "alg none", variant: "alg-none", want: exitNegative, wantFail: "header/signature", wantDetail: "algorithm"},
		{name: "forged", variant: "bad-signature", want: exitNegative, wantFail: "header/signature", wantDetail: "does not verify"},
		{name: "wrong audience", variant: "wrong-aud", want: exitNegative, wantFail: "aud"},
		{name: "old iat", variant: "iat-too-old", want: exitNegative, wantFail: "iat/exp", wantDetail: "iat"},
		{name: "expired", variant: "expired", want: exitNegative, wantFail: "iat/exp", wantDetail: "exp"},
		{name: "no sub no sid", variant: "no-sub-no-sid", want: exitNegative, wantFail: "claims", wantDetail: "neither sub nor sid"},
		{name: "events array", variant: "events-array", want: exitNegative, wantFail: "claims", wantDetail: "events"},
		{name: "nonce", variant: "nonce", want: exitNegative, wantFail: "claims", wantDetail: "nonce"},
		{name: "no jti", variant: "no-jti", want: exitNegative, wantFail: "claims", wantDetail: "jti"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := mint(t, tt.variant)
			args := []string{"verify", "--issuer", op.issuer, "--client-id", "demo-rp", "--decryption-keys", encFile}
			// The argument and stdin are both ways in.
			code, out, errOut := runCmd(t, tok+"\n", args...)
			code2, _, _ := runCmd(t, "", append(args, tok)...)
			if code != code2 {
				t.Errorf("stdin and argument differ: exit %d vs %d", code, code2)
			}
			if code != tt.want {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.want, out, errOut)
			}
			checkReport(t, out, tt.wantFail)
			if !strings.Contains(out, tt.wantDetail) {
				t.Errorf("report does not name %q:\n%s", tt.wantDetail, out)
			}
		})
	}
	t.Run("require encryption", func(t *testing.T) {
		args := []string{"verify", "--issuer", op.issuer, "--client-id", "demo-rp", "--decryption-keys", encFile, "--require-encryption"}
		code, out, errOut := runCmd(t, "", append(args, mint(t, "valid"))...)
		if code != exitNegative {
			t.Fatalf("plain token: exit %d, want 1\n%s%s", code, out, errOut)
		}
		checkReport(t, out, "decrypt")
		if code, out, errOut := runCmd(t, "", append(args, mint(t, "valid-jwe"))...); code != exitOK {
			t.Errorf("encrypted token: exit %d, want 0\n%s%s", code, out, errOut)
		}
	})
	t.Run("every invalid variant fails a named step", func(t *testing.T) {
		for _, v := range opkit.Variants() {
			if v.Valid {
				continue
			}
			tok, err := v.Mint(m)
			if err != nil {
				t.Fatal(err)
			}
			code, out, errOut := runCmd(t, "", "verify", "--issuer", op.issuer, "--client-id", "demo-rp", "--decryption-keys", encFile, tok)
			if code != exitNegative || !strings.Contains(out, "FAIL") {
				t.Errorf("%s: exit %d, want 1 with a FAIL step\n%s%s", v.Name, code, out, errOut)
			}
		}
	})
}

// verify prints a token's unverified header and claims, and an error that
// quotes its header: none of it may carry a control character a terminal
// would obey, such as a C1 CSI or a carriage return over the FAIL.
func TestVerifyPrintsNoTerminalControls(t *testing.T) {
	op := newTestOP(t)
	code, out, errOut := runCmd(t, "", "verify", "--issuer", op.issuer, "--client-id", "demo-rp", hostileToken(op.issuer))
	if code != exitNegative {
		t.Fatalf("exit %d, want 1\n%s%s", code, out, errOut)
	}
	checkReport(t, out, "header/signature")
	if hasTerminalControl(out) || hasTerminalControl(errOut) {
		t.Errorf("output holds terminal controls:\nstdout %q\nstderr %q", out, errOut)
	}
	if !strings.Contains(out, `\u009b2J\u009d52;c;aGk=\u009c`) || !strings.Contains(out, `\u009b2J\u007f`) {
		t.Errorf("report does not show the header and claims escaped:\n%s", out)
	}
}

// checkReport checks that steps before the failing one pass (or are
// skipped), the failing one says FAIL and the rest are not reached.
func checkReport(t *testing.T, out, wantFail string) {
	t.Helper()
	state := "before"
	for _, st := range validationSteps {
		var line string
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) >= 2 && (f[1] == st.name || (len(f) >= 3 && f[0] == "not" && f[2] == st.name)) {
				line = l
				break
			}
		}
		if line == "" {
			t.Fatalf("no line for step %s in:\n%s", st.name, out)
		}
		if st.name == wantFail {
			state = "at"
		}
		f := strings.Fields(line)
		switch state {
		case "before":
			if f[0] != "pass" && f[0] != "skipped" {
				t.Errorf("step %s: %q, want pass or skipped", st.name, line)
			}
		case "at":
			if f[0] != "FAIL" {
				t.Errorf("step %s: %q, want FAIL", st.name, line)
			}
			state = "after"
		case "after":
			if f[0] != "not" {
				t.Errorf("step %s: %q, want not reached", st.name, line)
			}
		}
	}
}
