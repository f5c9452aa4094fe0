package opkit

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Event types the OP transmits as Security Event Tokens (RFC 8417): the
// OpenID CAEP 1.0 and RISC 1.0 events that mean "end this user's
// sessions", and RISC's stream verification.
const (
	CAEPSessionRevoked  = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
	RISCSessionsRevoked = "https://schemas.openid.net/secevent/risc/event-type/sessions-revoked"
	RISCVerification    = "https://schemas.openid.net/secevent/risc/event-type/verification"
)

// NewSET returns a Security Event Token under construction, to customise
// and then Sign: header {"typ":"secevent+jwt"} (RFC 8417 §2.3); claims
// iss, aud (a string), iat now, a random jti and events holding the one
// event eventType with the members of event (SSF 1.0: one event a SET).
func NewSET(issuer, audience string, now time.Time, eventType string, event map[string]any) *Token {
	if event == nil {
		event = map[string]any{}
	}
	return &Token{
		Header: map[string]any{"typ": "secevent+jwt"},
		Claims: map[string]any{
			"iss":    issuer,
			"aud":    audience,
			"iat":    now.Unix(),
			"jti":    randomID(),
			"events": map[string]any{eventType: event},
		},
	}
}

// SETIssuer is the iss of the OP's SETs: its issuer, with a trailing
// slash under WithRISCTransmitter.
func (op *OP) SETIssuer() string {
	if op.cfg.riscIssuer {
		return op.issuer + "/"
	}
	return op.issuer
}

// NewSET returns a SET from this OP (SETIssuer, its clock) for audience,
// to Sign(op.Key()).
func (op *OP) NewSET(audience, eventType string, event map[string]any) *Token {
	return NewSET(op.SETIssuer(), audience, op.cfg.clock(), eventType, event)
}

// SessionRevoked returns a CAEP session-revoked SET for audience about the
// user sub at this OP, signed by Key(): its sub_id is an iss_sub subject
// (RFC 9493 §3.2.5), or, when sid is not empty, a complex subject whose
// session is the OP session sid and whose user is that iss_sub (SSF 1.0
// §3.3).
func (op *OP) SessionRevoked(audience, sub, sid string) (string, error) {
	user := map[string]any{"format": "iss_sub", "iss": op.SETIssuer(), "sub": sub}
	subject := user
	if sid != "" {
		subject = map[string]any{
			"format":  "complex",
			"user":    user,
			"session": map[string]any{"format": "opaque", "id": sid},
		}
	}
	t := op.NewSET(audience, CAEPSessionRevoked, map[string]any{
		"event_timestamp":   op.cfg.clock().Unix(),
		"initiating_entity": "admin",
	})
	t.Claims["sub_id"] = subject
	return t.Sign(op.Key())
}

// PushSET delivers a signed SET to a receiver's endpoint as RFC 8935 §2
// says: one POST, Content-Type application/secevent+jwt, the SET as the
// body, and the bearer token the receiver gave the OP when bearer is not
// empty. It goes through the OP's delivery client (no redirects, the SSRF
// guard) and returns the status and the body of the answer, an RFC 8935
// §2.4 error on a 400.
func (op *OP) PushSET(ctx context.Context, endpoint, bearer, set string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, op.cfg.deliveryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(set))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/secevent+jwt")
	req.Header.Set("Accept", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := op.delivery.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("fakeop: push SET: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	return resp.StatusCode, body, err
}

// handleSSFConfiguration serves the transmitter configuration metadata of
// SSF 1.0 §7.1 at /.well-known/ssf-configuration: the issuer of its SETs,
// the keys that sign them (the OP's own) and push delivery (RFC 8935);
// under WithRISCTransmitter, the same at /.well-known/risc-configuration
// only.
func (op *OP) handleSSFConfiguration(w http.ResponseWriter, r *http.Request) {
	if op.cfg.riscIssuer != strings.HasSuffix(r.URL.Path, "/risc-configuration") {
		http.NotFound(w, r)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"spec_version":               "1_0",
		"issuer":                     op.SETIssuer(),
		"jwks_uri":                   op.JWKSURL(),
		"delivery_methods_supported": []string{"urn:ietf:rfc:8935"},
	})
}

// setReceiversLocked returns the registered clients that have a Shared
// Signals receiver, in registration order. op.mu must be held.
func (op *OP) setReceiversLocked() []Client {
	var out []Client
	for _, id := range op.clientOrder {
		if c := op.clients[id]; c.SETDeliveryURI != "" {
			out = append(out, *c)
		}
	}
	return out
}

// setPush is one row of the page handlePushSessionRevoked shows.
type setPush struct {
	ClientID, URI, Status, Answer string
}

// handlePushSessionRevoked is the home page's "Push CAEP session-revoked":
// for the OP session sid (POST), it pushes a CAEP session-revoked SET
// naming that session and its user (SessionRevoked) to every client with a
// SETDeliveryURI, and shows what each answered. The OP's own session stays
// open: the SET tells the receivers, as a transmitter does when its
// administrator revokes a session.
func (op *OP) handlePushSessionRevoked(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		op.page(w, http.StatusBadRequest, "error", "bad form")
		return
	}
	sid := r.PostForm.Get("sid")
	op.mu.Lock()
	s, ok := op.sessions[sid]
	var sub string
	if ok {
		sub = s.sub
	}
	receivers := op.setReceiversLocked()
	op.mu.Unlock()
	if !ok {
		op.page(w, http.StatusBadRequest, "error", "unknown session")
		return
	}
	pushes := make([]setPush, 0, len(receivers))
	for _, c := range receivers {
		p := setPush{ClientID: c.ID, URI: c.SETDeliveryURI}
		set, err := op.SessionRevoked(c.ID, sub, sid)
		if err == nil {
			var status int
			var body []byte
			status, body, err = op.PushSET(r.Context(), c.SETDeliveryURI, c.SETBearerToken, set)
			p.Status, p.Answer = strconv.Itoa(status), string(body)
		}
		if err != nil {
			p.Answer = err.Error()
		}
		op.log.Info("fakeop: pushed CAEP session-revoked", "client_id", c.ID, "sub", sub, "sid", sid, "status", p.Status, "err", err)
		pushes = append(pushes, p)
	}
	op.page(w, http.StatusOK, "pushed", map[string]any{"Sub": sub, "SID": sid, "Pushes": pushes})
}
