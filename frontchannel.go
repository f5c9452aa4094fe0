package bclogout

import (
	"fmt"
	"net/http"

	"github.com/bclogout/bclogout/internal/rejection"
	"github.com/bclogout/bclogout/rp"
	"github.com/bclogout/bclogout/sessionadapter"
)

// FrontChannel returns the front-channel logout endpoint (OpenID Connect
// Front-Channel Logout 1.0): register its URL as the client's
// frontchannel_logout_uri, with frontchannel_logout_session_required, for
// an OP that reaches apps only through the browser (Microsoft Entra ID
// does). The OP's sign-out page loads it in an iframe with iss and sid
// (§2); it hands that OP session's logout to the same pipeline as a
// back-channel logout, which revokes it, so the guard ends its sessions at
// every replica, deletes their data, and retries what a store failed.
//
// A front-channel request carries no iat, so its revocation is dated by
// this RP's clock plus the OP clock skew (a minute), the one rule for
// dates without an OP date: a login the OP dated up to a minute ahead is
// still ended, and a sign-in to the same OP session within that minute
// after the logout is refused too (fail closed; the user signs in again).
//
// Where the OP offers both, prefer back-channel logout (BackChannel): a
// front-channel logout happens only if the user's browser is on the OP's
// page and loads the frame, and browsers that block third-party cookies
// send none to it. This endpoint therefore needs no cookie: it acts on
// iss and sid alone, which also means anyone who learns a sid can sign
// that session out (never in). Since anyone can call it, and each call
// with a well-formed sid is kept as a revocation for the session lifetime
// (it must be: the login it ends may be in flight, bound at another
// replica, or a cookie session that outlives a restart), rate-limit this
// route in front of the app, as any unauthenticated write.
//
// A GET without sid (or with one over 1 KiB), or whose iss is present and
// not exactly Config.Issuer, is answered 400 and revokes nothing: a
// logout must name its session (an OP that cannot send sid,
// frontchannel_logout_session_supported false, cannot be served without
// the third-party cookies above). A request with sid and no iss is
// Config.Issuer's, the one issuer this RP serves: Microsoft Entra ID
// sends sid alone. The response may be framed by the OP's origin only
// (Content-Security-Policy: frame-ancestors) and is never cached (§3).
// Keep session loading, CSRF checks and "must be signed in" redirects off
// this route.
func (b *RP) FrontChannel() http.Handler {
	return http.HandlerFunc(b.serveFrontChannel)
}

// maxFrontChannelSID bounds the sid a front-channel logout may name: OPs
// send a UUID, a hash or a short token; the request is anonymous and its
// sid is stored for the session lifetime.
const maxFrontChannelSID = 1024

// doorFrontChannel names front-channel logouts in metrics, logs and
// hooks.
const doorFrontChannel = "frontchannel"

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
