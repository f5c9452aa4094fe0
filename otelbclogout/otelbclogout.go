package otelbclogout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/bclogout/bclogout/internal/rejection"
	"github.com/bclogout/bclogout/rp"
)

// scope names the spans' instrumentation scope: this package.
const scope = "github.com/bclogout/bclogout/otelbclogout"

// The attributes of the spans.
const (
	attrDoor          = attribute.Key("bclogout.door")
	attrIssuer        = attribute.Key("bclogout.issuer")
	attrOutcome       = attribute.Key("bclogout.outcome")
	attrSessionsEnded = attribute.Key("bclogout.sessions_ended")
	attrSubjectHash   = attribute.Key("bclogout.subject_hash")
	attrSIDHash       = attribute.Key("bclogout.sid_hash")
)

// Hooks makes the spans. Its methods are bclogout.Config's OnLogout,
// OnReject and Metrics; they are safe for concurrent use.
type Hooks struct {
	tracer trace.Tracer
}

// New returns hooks that trace with tp; a nil tp is
// otel.GetTracerProvider(), which follows a provider set later with
// otel.SetTracerProvider.
func New(tp trace.TracerProvider) *Hooks {
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	return &Hooks{tracer: tp.Tracer(scope)}
}

// OnLogout is bclogout.Config.OnLogout: a "bclogout.logout" span, child of
// ctx's, for a logout that completed.
func (h *Hooks) OnLogout(ctx context.Context, e *rp.LogoutEvent, sessionsEnded int) {
	if e == nil {
		return
	}
	attrs := make([]attribute.KeyValue, 0, 6)
	attrs = append(attrs,
		attrDoor.String(e.Door),
		attrIssuer.String(e.Issuer),
		attrOutcome.String("accepted"),
		attrSessionsEnded.Int(sessionsEnded))
	if e.Subject != "" {
		attrs = append(attrs, attrSubjectHash.String(pseudonym(e.Subject)))
	}
	if e.SessionID != "" {
		attrs = append(attrs, attrSIDHash.String(pseudonym(e.SessionID)))
	}
	_, span := h.tracer.Start(ctx, "bclogout.logout", trace.WithAttributes(attrs...))
	span.End()
}

// OnReject is bclogout.Config.OnReject: a "bclogout.reject" span, child of
// ctx's, with the rejection's class, for a request a door refused.
func (h *Hooks) OnReject(ctx context.Context, door string, _ *http.Request, err error) {
	class := rejection.Reason(err)
	_, span := h.tracer.Start(ctx, "bclogout.reject", trace.WithAttributes(
		attrDoor.String(door),
		attrOutcome.String(class)))
	// The class, not err's text: the text may quote the token's claims.
	span.SetStatus(codes.Error, class)
	span.End()
}

// Observe is bclogout.Config.Metrics' method: a "bclogout.retry" span for
// each event of the retry queue. Its other outcomes are requests OnLogout
// and OnReject trace, and make no span here.
func (h *Hooks) Observe(door, issuer, outcome string, sessionsEnded int, elapsed time.Duration) {
	abandoned := strings.HasPrefix(outcome, "abandoned_")
	if outcome != "queued" && outcome != "retried" && !abandoned {
		return
	}
	end := time.Now()
	// The queue has no request context to hang the span under.
	_, span := h.tracer.Start(context.Background(), "bclogout.retry",
		trace.WithNewRoot(),
		trace.WithTimestamp(end.Add(-elapsed)),
		trace.WithAttributes(
			attrDoor.String(door),
			attrIssuer.String(issuer),
			attrOutcome.String(outcome),
			attrSessionsEnded.Int(sessionsEnded)))
	if abandoned {
		span.SetStatus(codes.Error, outcome)
	}
	span.End(trace.WithTimestamp(end))
}

// pseudonym is the first 16 hex digits (64 bits) of the SHA-256 of s: it
// finds the spans of a known sub or sid without putting either in them.
func pseudonym(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}
