package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"

	"github.com/bclogout/bclogout/internal/rejection"
	"github.com/bclogout/bclogout/rp"
)

// validationStep is one row of verify's report, in the order rp.Verifier
// runs its checks.
type validationStep struct {
	name string
	what string
	// fails reports whether err belongs to this step.
	fails []error
}

// validationSteps mirrors rp.Verifier: parse, decrypt, iss (matched before
// anything costly, to pick the issuer's keys), header policy, key and
// signature, then the claims, one step per class of rp's errors (the error
// text names the rule). The verify test walks every fakeop variant through
// it, so a change of order in rp shows up there.
var validationSteps = []validationStep{
	{"format", "compact JWS or JWE; header and claims are JSON objects", []error{rp.ErrMalformed}},
	{"decrypt", "a JWE is decrypted with --decryption-keys (a JWE is required with --require-encryption)", []error{rp.ErrEncryption}},
	{"iss", "exactly the configured issuer", []error{rp.ErrIssuer}},
	{"header/signature", "typ allowed; no crit or b64; no jku, x5u, jwk or x5c; an allowed alg, a key of the OP bound to it, a valid signature", []error{rp.ErrSignature, rp.ErrTemporary}},
	{"aud", "contains the client ID", []error{rp.ErrAudience}},
	{"iat/exp", "iat not in the future, not older than the max age; exp in the future when present (required with --require-exp)", []error{rp.ErrTime}},
	{"claims", "sub and/or sid non-empty strings; events holds the back-channel logout event object; no nonce; jti a non-empty string (replay is not checked by verify)", []error{rp.ErrClaims}},
}

// failedStep returns the index of the step err belongs to, or -1.
func failedStep(err error) int {
	for i, st := range validationSteps {
		for _, sentinel := range st.fails {
			if errors.Is(err, sentinel) {
				return i
			}
		}
	}
	return -1
}

func runVerify(ctx context.Context, s streams, vf verifierFlags, args []string) int {
	if err := vf.check(); err != nil {
		return usageError(s, "verify", "%v", err)
	}
	var token string
	switch len(args) {
	case 0:
		b, err := io.ReadAll(io.LimitReader(s.stdin, 1<<20))
		if err != nil {
			return failure(s, "verify", fmt.Errorf("reading stdin: %w", err))
		}
		token = string(b)
	case 1:
		token = args[0]
	default:
		return usageError(s, "verify", "give one token, as the argument or on stdin")
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return usageError(s, "verify", "no token given (argument or stdin)")
	}
	logger := slog.New(slog.NewTextHandler(s.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	v, closeKeys, err := vf.build(ctx, logger)
	if err != nil {
		return failure(s, "verify", err)
	}
	defer closeKeys()

	printDecoded(s.stdout, token)
	ev, verr := v.Verify(ctx, token)
	if verr == nil && strings.Count(token, ".") == 4 {
		fmt.Fprintf(s.stdout, "claims (decrypted and verified):\n%s\n\n", escapeControls(indentJSON(eventClaims(ev))))
	}
	failed := -1
	if verr != nil {
		if failed = failedStep(verr); failed < 0 {
			return failure(s, "verify", verr)
		}
	}
	fmt.Fprintln(s.stdout, "checks (in validation order; validation stops at the first failure):")
	tw := tabwriter.NewWriter(s.stdout, 0, 4, 2, ' ', 0)
	encrypted := strings.Count(token, ".") == 4
	for i, st := range validationSteps {
		result, note := "pass", st.what
		switch {
		case failed >= 0 && i == failed:
			// The error may quote the token's header raw (crit), line
			// breaks included: one line, no terminal controls.
			result, note = "FAIL", strings.ReplaceAll(escapeControls(verr.Error()), "\n", `\n`)
		case failed >= 0 && i > failed:
			result, note = "not reached", ""
		case st.name == "decrypt" && !encrypted && (failed < 0 || failed > i):
			result, note = "skipped", "not encrypted"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", result, st.name, note)
	}
	tw.Flush()
	switch {
	case verr == nil:
		fmt.Fprintf(s.stdout, "result: VALID logout token for %s (sub %q, sid %q)\n", ev.Issuer, ev.Subject, ev.SessionID)
		return exitOK
	case errors.Is(verr, rp.ErrTemporary):
		fmt.Fprintf(s.stdout, "result: UNDECIDED, the keys could not be fetched (%s)\n", rejection.Reason(verr))
		return exitFailure
	default:
		fmt.Fprintf(s.stdout, "result: INVALID (%s)\n", rejection.Reason(verr))
		return exitNegative
	}
}

// printDecoded prints a token's header and, for a JWS, its claims, without
// any verification: exactly what an attacker controls.
func printDecoded(w io.Writer, token string) {
	parts := strings.Split(token, ".")
	fmt.Fprintf(w, "header (decoded, NOT verified):\n%s\n\n", decodeSegment(parts[0]))
	switch len(parts) {
	case 3:
		fmt.Fprintf(w, "claims (decoded, NOT verified):\n%s\n\n", decodeSegment(parts[1]))
	case 5:
		fmt.Fprint(w, "claims: encrypted (JWE); shown below once decrypted and verified\n\n")
	}
}

func decodeSegment(seg string) string {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return "(not base64url)"
	}
	var out bytes.Buffer
	if json.Indent(&out, b, "", "  ") != nil {
		return fmt.Sprintf("(not JSON: %q)", clipText(string(b)))
	}
	return escapeControls(out.String()) // the sender's text, bound for a terminal
}

// eventClaims are the claims a validated event carries, as JSON members.
func eventClaims(ev *rp.LogoutEvent) map[string]any {
	c := map[string]any{"iss": ev.Issuer, "jti": ev.JTI, "iat": ev.IssuedAt.Unix()}
	if ev.Subject != "" {
		c["sub"] = ev.Subject
	}
	if ev.SessionID != "" {
		c["sid"] = ev.SessionID
	}
	return c
}

func indentJSON(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func clipText(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
