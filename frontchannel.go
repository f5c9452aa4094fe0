package bclogout

import (
	"fmt"
	"net/http"

	"github.com/bclogout/bclogout/internal/rejection"
	"github.com/bclogout/bclogout/rp"
	"github.com/bclogout/bclogout/sessionadapter"
)

// maxFrontChannelSID bounds the sid a front-channel logout may name: OPs
// send a UUID, a hash or a short token; the request is anonymous and its
// sid is stored for the session lifetime.
const maxFrontChannelSID = 1024

// doorFrontChannel names front-channel logouts in metrics, logs and
// hooks.
const doorFrontChannel = "frontchannel"

// serveFrontChannel is the front-channel logout endpoint (OpenID Connect
// Front-Channel Logout 1.0), at Config.FrontChannelPath: the OP's sign-out
// page loads it in an iframe with iss and sid (§2), and it hands that OP
// session's logout to the same pipeline as a back-channel logout. What it
// accepts, how it dates the revocation and what it costs are in the
// package documentation ("Front-channel logout"). The response may be
// framed by the OP's origin only (Content-Security-Policy:
// frame-ancestors) and is never cached (§3).
func (b *RP) serveFrontChannel(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-cache, no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Content-Security-Policy", b.frameAncestors)
	h.Del("X-Frame-Options") // it would forbid the OP's frame too
	ev, status, err := b.frontChannelLogout(r)
	if err != nil {
		b.handler.Reject(r, doorFrontChannel, err)
		if status == http.StatusMethodNotAllowed {
			h.Set("Allow", "GET, HEAD")
		}
		http.Error(w, http.StatusText(status), status)
		return
	}
	if _, err := b.handler.End(r, ev); err != nil {
		// The store failed: the pipeline queued the logout for retry,
		// since no OP retries a front-channel frame.
		http.Error(w, "logout failed; retrying", http.StatusServiceUnavailable)
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte("<!doctype html><title>Signed out</title><p>Signed out.</p>\n"))
}

// frontChannelLogout reads the logout a front-channel request asks for
// (Front-Channel Logout 1.0 §2), or why it is refused, and its status.
func (b *RP) frontChannelLogout(r *http.Request) (*rp.LogoutEvent, int, error) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return nil, http.StatusMethodNotAllowed, fmt.Errorf("%w: method %s", rejection.Request, clipped(r.Method))
	}
	q := r.URL.Query()
	iss, sid := q.Get("iss"), q.Get("sid")
	switch {
	case sid == "":
		return nil, http.StatusBadRequest, fmt.Errorf("%w: front-channel logout without sid", rp.ErrClaims)
	case len(sid) > maxFrontChannelSID:
		// Anyone can send this request, and its sid is kept for the
		// session lifetime: an OP's sid is an identifier, not a payload.
		return nil, http.StatusBadRequest, fmt.Errorf("%w: front-channel sid of %d bytes", rp.ErrClaims, len(sid))
	case q.Has("iss") && iss != b.issuer:
		return nil, http.StatusBadRequest, fmt.Errorf("%w: front-channel iss %q is not the issuer", rp.ErrIssuer, clipped(iss))
	}
	// No iat: IssuedAt stays zero, and the pipeline dates the revocation
	// by the one clock rule for RP-clock instants.
	return &rp.LogoutEvent{Door: doorFrontChannel, Logout: sessionadapter.Logout{Issuer: b.issuer, SessionID: sid}}, http.StatusOK, nil
}
