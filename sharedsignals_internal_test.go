package bclogout

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"testing"
)

// FuzzSubject: whatever subject a signed SET carries (a transmitter's
// input, read after the signature holds), resolving it never panics, and
// either names a user (or nobody, acknowledged) or is refused with a 400
// or, when MapSubject cannot tell, a 503.
func FuzzSubject(f *testing.F) {
	for _, seed := range []string{
		`{"format":"iss_sub","iss":"https://op.example","sub":"alice"}`,
		`{"subject_type":"iss-sub","iss":"https://op.example/","sub":"alice"}`,
		`{"user":{"format":"iss_sub","iss":"https://op.example","sub":"alice"},"session":{"format":"opaque","id":"sid-a"}}`,
		`{"format":"aliases","identifiers":[{"format":"email","email":"down@example.com"},{"format":"iss_sub","iss":"https://op.example","sub":"alice"}]}`,
		`{"format":"aliases","identifiers":[{"subject_type":"aliases","identifiers":[]}]}`,
		`{"format":"phone_number","phone_number":"+12065550100"}`,
		`{"format":"complex","user":{"format":"complex"}}`,
	} {
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, subject string, fromOP bool) {
		var id map[string]any
		if json.Unmarshal([]byte(subject), &id) != nil || id == nil {
			return
		}
		s := &signals{
			opIssuer: "https://op.example", issuer: "https://op.example/", fromOP: fromOP, sameUsers: true,
			logger: slog.New(slog.DiscardHandler),
			cfg: SharedSignals{MapSubject: func(_ context.Context, id map[string]any) (string, error) {
				switch id["email"] {
				case "down@example.com":
					return "", errors.New("directory down")
				case "alice@example.com":
					return "alice", nil
				}
				return "", nil
			}},
		}
		sub, sid, serr := s.subject(context.Background(), id, 0)
		switch {
		case serr == nil:
			if sid != "" && !fromOP {
				t.Fatalf("sid %q from a transmitter that is not the OP", sid)
			}
		case serr.status != http.StatusBadRequest && serr.status != http.StatusServiceUnavailable:
			t.Fatalf("status %d for %s", serr.status, subject)
		case sub != "" || sid != "":
			t.Fatalf("refused (%v) but named %q, %q", serr.err, sub, sid)
		}
	})
}
