package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bclogout/bclogout/internal/opkit"
)

// cliKeyID is the kid of keys the command generates, so op and send agree.
const cliKeyID = "bclogout-cli-1"

func runSend(ctx context.Context, s streams, f sendFlags, args []string) int {
	if f.listVariants {
		printVariants(s.stdout)
		return exitOK
	}
	switch {
	case len(args) > 0:
		return usageError(s, "send", "unexpected argument %q", args[0])
	case f.to == "":
		return usageError(s, "send", "--to is required")
	case f.issuer == "":
		return usageError(s, "send", "--issuer is required")
	case len(f.aud) == 0:
		return usageError(s, "send", "--aud is required")
	case f.variant != "" && (f.sub != "" || f.sid != "" || len(f.claims) > 0):
		return usageError(s, "send", "--variant mints its own claims; --sub, --sid and --claim apply to the plain token only")
	}
	claims, err := parseClaims(f.claims)
	if err != nil {
		return usageError(s, "send", "%v", err)
	}
	var variant opkit.Variant
	if f.variant != "" {
		var ok bool
		if variant, ok = opkit.LookupVariant(f.variant); !ok {
			return usageError(s, "send", "unknown variant %q (see --list-variants)", f.variant)
		}
	}

	m := opkit.Minter{Issuer: f.issuer, Audience: f.aud[0], Now: time.Now(), Secret: make([]byte, 32)}
	_, _ = rand.Read(m.Secret) // crypto/rand.Read never fails (Go 1.24+)
	if f.keyFile != "" {
		k, created, err := loadOrCreateSigningKey(f.keyFile, f.alg, cliKeyID)
		if err != nil {
			return failure(s, "send", err)
		}
		if created {
			fmt.Fprintf(s.stderr, "bclogout send: generated a %s key in %s; the RP must trust its public half (\"bclogout op --key-file %s\" publishes it)\n", k.Alg, f.keyFile, f.keyFile)
		}
		m.Key = k
	} else {
		k, err := opkit.GenerateKey(f.alg, cliKeyID)
		if err != nil {
			return failure(s, "send", err)
		}
		m.Key = k
		fmt.Fprintf(s.stderr, "bclogout send: signing with a throwaway %s key; the RP accepts the token only if it trusts this JWK set (use --key FILE to keep a key):\n%s\n", k.Alg, opkit.JWKS(k.PublicJWK()))
	}
	if f.variant != "" {
		// The attacker's key: same algorithm, so that an RP rejects the
		// forgery for its key, not for its algorithm.
		other, err := opkit.GenerateKey(m.Key.Alg, "attacker-key")
		if err != nil {
			return failure(s, "send", err)
		}
		m.OtherKey = other
	}
	if f.encryptTo != "" {
		if m.Encryption, err = loadEncryptionKey(f.encryptTo); err != nil {
			return failure(s, "send", err)
		}
	}

	var token string
	if f.variant != "" {
		token, err = variant.Mint(m)
		expect := "reject"
		if variant.Valid {
			expect = "accept"
		}
		fmt.Fprintf(s.stderr, "bclogout send: variant %s (an RP must %s it): %s\n", variant.Name, expect, variant.Doc)
		if errors.Is(err, opkit.ErrMinterIncomplete) {
			return usageError(s, "send", "variant %s: %v (valid-jwe needs --encrypt-to)", variant.Name, err)
		}
	} else {
		token, err = mintPlain(m, f, claims)
	}
	if err != nil {
		return failure(s, "send", err)
	}
	return postToken(ctx, s, f.to, token, f.timeout)
}

// mintPlain mints the valid token with the command line's claims: the
// given --sub and --sid exactly, or sub "alice" and a random sid.
func mintPlain(m opkit.Minter, f sendFlags, claims map[string]any) (string, error) {
	t := m.Token()
	t.Claims["sub"] = "alice"
	if f.sub != "" || f.sid != "" {
		delete(t.Claims, "sub")
		delete(t.Claims, "sid")
		if f.sub != "" {
			t.Claims["sub"] = f.sub
		}
		if f.sid != "" {
			t.Claims["sid"] = f.sid
		}
	}
	if len(f.aud) > 1 {
		aud := make([]any, len(f.aud))
		for i, a := range f.aud {
			aud[i] = a
		}
		t.Claims["aud"] = aud
	}
	for k, v := range claims {
		t.Claims[k] = v
	}
	jws, err := t.Sign(m.Key)
	if err != nil || m.Encryption == nil {
		return jws, err
	}
	return opkit.Encrypt(jws, m.Encryption)
}

// parseClaims reads K=V pairs; V is JSON when it parses as JSON, so
// numbers, booleans, objects and arrays can be set, and a string otherwise.
func parseClaims(pairs []string) (map[string]any, error) {
	out := make(map[string]any, len(pairs))
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--claim %q: want K=V", p)
		}
		var j any
		if err := json.Unmarshal([]byte(v), &j); err == nil {
			out[k] = j
		} else {
			out[k] = v
		}
	}
	return out, nil
}

// postToken sends the token as an OP does (§2.5) and prints the answer.
func postToken(ctx context.Context, s streams, to, token string, timeout time.Duration) int {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	body := url.Values{"logout_token": {token}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, to, strings.NewReader(body))
	if err != nil {
		return usageError(s, "send", "--to: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// An OP never follows a redirect with the token: a 3xx is an answer.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return failure(s, "send", err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return failure(s, "send", err)
	}
	fmt.Fprintf(s.stdout, "%s %s\n", resp.Proto, resp.Status)
	if len(answer) > 0 {
		fmt.Fprintf(s.stdout, "%s\n", strings.TrimRight(string(answer), "\n"))
	}
	if resp.StatusCode != http.StatusOK {
		return exitNegative
	}
	return exitOK
}

func printVariants(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tAN RP MUST\tWHAT")
	for _, v := range opkit.Variants() {
		expect := "reject"
		if v.Valid {
			expect = "accept"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Name, expect, v.Doc)
	}
	tw.Flush()
}
