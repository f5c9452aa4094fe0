package bclogout

import (
	"log/slog"
	"net/http"

	"github.com/bclogout/bclogout/sessionadapter"
)

// FrontChannel returns the front-channel logout endpoint (OpenID Connect
// Front-Channel Logout 1.0): register its URL as the client's
// frontchannel_logout_uri, with frontchannel_logout_session_required, for
// an OP that reaches apps only through the browser (Microsoft Entra ID
// does). The OP's sign-out page loads it in an iframe with iss and sid
// (§2); it revokes that OP session through the same revocations as a
// back-channel logout, so the guard ends its sessions at every replica,
// and deletes their data.
//
// Where the OP offers both, prefer back-channel logout (ServeHTTP): a
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
// A GET whose iss is not exactly Config.Issuer, or that has no sid (or
// one over 1 KiB), is answered 400 and revokes nothing: a logout must
// name its session (an OP that cannot send sid,
// frontchannel_logout_session_supported false, cannot be served without
// the third-party cookies above). The response
// may be framed by the OP's origin only (Content-Security-Policy:
// frame-ancestors) and is never cached (§3). Keep session loading, CSRF
// checks and "must be signed in" redirects off this route.
func (b *RP) FrontChannel() http.Handler {
	return http.HandlerFunc(b.serveFrontChannel)
}

// FrontChannelSupported reports the OP's discovery flags
// frontchannel_logout_supported and frontchannel_logout_session_supported
// (Front-Channel Logout 1.0 §3): whether the OP renders front-channel
// logout frames at all, and whether it sends them iss and sid, without
// which FrontChannel cannot act. New logs both.
func (b *RP) FrontChannelSupported() (logout, session bool) {
	return b.frontChannel, b.frontChannelSession
}

// maxFrontChannelSID bounds the sid a front-channel logout may name: OPs
// send a UUID, a hash or a short token; the request is anonymous and its
// sid is stored for the session lifetime.
const maxFrontChannelSID = 1024

func (b *RP) serveFrontChannel(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-cache, no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Content-Security-Policy", b.frameAncestors)
	h.Del("X-Frame-Options") // it would forbid the OP's frame too
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	iss, sid := q.Get("iss"), q.Get("sid")
	switch {
	case sid == "":
		b.logger.WarnContext(r.Context(), "bclogout: front-channel logout refused: no sid", slog.Bool("iss_present", iss != ""))
		http.Error(w, "front-channel logout needs iss and sid", http.StatusBadRequest)
		return
	case len(sid) > maxFrontChannelSID:
		// Anyone can send this request, and its sid is kept for the
		// session lifetime: an OP's sid is an identifier, not a payload.
		b.logger.WarnContext(r.Context(), "bclogout: front-channel logout refused: sid too long", slog.Int("sid_bytes", len(sid)))
		http.Error(w, "front-channel logout sid too long", http.StatusBadRequest)
		return
	case iss != b.issuer:
		b.logger.WarnContext(r.Context(), "bclogout: front-channel logout refused: iss is not the issuer", slog.String("iss", iss))
		http.Error(w, "front-channel logout from another issuer", http.StatusBadRequest)
		return
	}
	// No iat comes with a front-channel logout: the revocation is dated
	// now, which ends every login of this OP session so far. It goes
	// through the same ender as a back-channel logout, revocation first:
	// a deletion that fails still leaves the session revoked, and a login
	// still in flight, or bound at another replica or before a restart,
	// is ended too. Anyone can send this request, so each one with a
	// well-formed sid stores a revocation for the session lifetime (about
	// 200 bytes plus the sid, at most 1 KiB): rate-limit the route.
	_, err := b.ender.EndSessions(r.Context(), sessionadapter.Logout{Issuer: iss, SessionID: sid})
	if err != nil {
		b.logger.ErrorContext(r.Context(), "bclogout: front-channel logout failed", slog.Any("error", err))
		http.Error(w, "logout failed", http.StatusInternalServerError)
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte("<!doctype html><title>Signed out</title><p>Signed out.</p>\n"))
}
