package bclogout

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/bclogout/bclogout/internal/discovery"
	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/rp"
	"github.com/bclogout/bclogout/sessionadapter"
)

// doorSignOut names the app's own sign-outs in metrics, logs and hooks.
const doorSignOut = "signout"

// stateMaxAge is how long a sign-out may take at the OP before the state
// it carries back is refused.
const stateMaxAge = 10 * time.Minute

// idTokenHinter is what sign-out needs of Config.Bindings to send the
// OP an id_token_hint: the raw ID token Login bound with a session.
// NewMemory's store and redisadapter's have it.
type idTokenHinter interface {
	IDTokenHint(ctx context.Context, localID string) (string, error)
}

// SignOut returns the sign-out route (RP-Initiated Logout 1.0): mount it
// at one path, where the session library's middleware loads the session
// (with scs, inside sm.LoadAndSave), point the "Sign out" button's form
// at it (POST) and Config.PostLogoutRedirectURI at the same path (the
// OP's GET back).
//
// A POST signs the user out of this app and of the OP. First, here: it
// revokes the session's OP session (its sid) through the revocations the
// guard enforces, so the session ends at once in every tab and at every
// replica (even a cookie session, or one a request in flight writes
// back), deletes the data of the sessions bound to it, and ends the
// request's session (Config.Sessions' End). A session whose login had no
// sid (an OP that puts none in its ID tokens) is ended, but nothing is
// revoked, since a revocation by sub would end the user's sessions on
// every device; the OP's back-channel logout then ends any copy. Then, at
// the OP: it redirects (303) to the end_session_endpoint from discovery
// with client_id, the raw ID token Login kept with the binding as
// id_token_hint (none when the bindings lost it, as in-memory ones do at
// a restart: the OP then goes by its cookie, and may ask the user to
// confirm), and, with Config.PostLogoutRedirectURI, that URI and a random
// state, which a one-use HttpOnly cookie keeps. The redirect URI only
// ever comes from Config, never from the request. An OP whose discovery
// has no end_session_endpoint gets no redirect: the user lands on the
// signed-out page at once, signed out of this app only (the OP session,
// and single sign-on with it, lives on). When the local step fails, the
// user is not signed out: Config.SignOutFailed answers (default: 500 and
// a short text page), and the user may try again.
//
// AWS Cognito, recognised by its issuer
// (https://cognito-idp.<region>.amazonaws.com/<pool>), has a /logout that
// takes client_id and logout_uri and sends no state back: SignOut sends
// it client_id and logout_uri = Config.PostLogoutRedirectURI (register
// that as an allowed sign-out URL of the app client) and nothing else.
// Cognito refuses a sign-out without logout_uri, so with a Cognito issuer
// New requires PostLogoutRedirectURI.
//
// A GET is the OP's redirect back: with a state, it must be the one the
// cookie holds, which is then forgotten; without one (Cognito, or an OP
// that drops it) the user lands on the signed-out page too, since the
// session ended before the redirect. The signed-out page is
// Config.SignedOut, or a redirect (303) to "/" without one. A state that
// does not match (forged, replayed, or from another browser) is refused
// with 400: nothing ends on a GET, so a forged link signs no one out, and
// the user who did sign out was already signed out here before the
// redirect. Other methods get 405.
func (b *RP) SignOut() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		switch r.Method {
		case http.MethodPost:
			b.signOut(w, r)
		case http.MethodGet, http.MethodHead:
			b.signOutReturn(w, r)
		default:
			w.Header().Set("Allow", "GET, HEAD, POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		}
	})
}

// signOut ends the request's session here, then sends the browser to the
// OP's end_session_endpoint.
func (b *RP) signOut(w http.ResponseWriter, r *http.Request) {
	var revokeErr error
	var hint string
	if binding, ok := b.sessions.Lookup(r); ok && binding.Issuer == b.issuer {
		// Read before the pipeline ends the binding, and with it the ID
		// token. Without it the OP still signs the user out, by its
		// cookie: a store that cannot say is no reason to keep the user
		// signed in.
		if b.hints != nil && binding.LocalID != "" {
			var err error
			if hint, err = b.hints.IDTokenHint(r.Context(), binding.LocalID); err != nil {
				b.logger.WarnContext(r.Context(), "bclogout: sign out: reading the id_token_hint failed; sending client_id only", slog.Any("error", err))
			}
		}
		if binding.SessionID != "" {
			// Dated at this login's iat (the OP's clock, as the guard
			// compares it), whatever the revocation store's clock-skew
			// tolerance: this login of the OP session and any earlier one
			// end, and the store deletes this session's binding and data.
			// A sid revocation also ends logins up to the OP clock skew
			// (one minute) after its date, so a single sign-on within that
			// minute in an OP session that lives on (no
			// end_session_endpoint, or the user declined at the OP) is
			// refused with sessionadapter.ErrRevoked: fail closed; a later one is not.
			// It is the pipeline's, as every door's logout is: a store
			// that fails has it retried.
			_, revokeErr = b.handler.End(r, &rp.LogoutEvent{Door: doorSignOut, Logout: sessionadapter.Logout{
				Issuer: binding.Issuer, Subject: binding.Subject, SessionID: binding.SessionID, IssuedAt: binding.LoginTime,
			}})
		}
	}
	if err := errors.Join(revokeErr, b.sessions.End(w, r)); err != nil {
		b.logger.ErrorContext(r.Context(), "bclogout: sign out failed", slog.Any("error", err))
		b.signOutFailed.ServeHTTP(w, r)
		return
	}
	if b.endSession == nil {
		b.signedOutPage(w, r)
		return
	}
	u := *b.endSession
	q := u.Query()
	q.Set("client_id", b.clientID)
	switch {
	case b.cognito:
		// Cognito's /logout refuses post_logout_redirect_uri and sends no
		// state back; logout_uri must be one of the client's sign-out URLs.
		if b.postLogout != "" {
			q.Set("logout_uri", b.postLogout)
		}
	default:
		if hint != "" {
			q.Set("id_token_hint", hint)
		}
		if b.postLogout != "" {
			state := rand.Text()
			q.Set("post_logout_redirect_uri", b.postLogout)
			q.Set("state", state)
			http.SetCookie(w, b.stateCookie(state, int(stateMaxAge/time.Second)))
		}
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// signOutReturn is the OP's redirect back to PostLogoutRedirectURI
// (RP-Initiated Logout 1.0 §3): it checks the state against the one
// signOut gave this browser and forgets it, so each state serves once.
func (b *RP) signOutReturn(w http.ResponseWriter, r *http.Request) {
	got := r.URL.Query().Get("state")
	ck, err := r.Cookie(b.stateName)
	if err == nil {
		http.SetCookie(w, b.stateCookie("", -1))
	}
	if got != "" && (err != nil || ck.Value == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(got)) != 1) {
		b.logger.WarnContext(r.Context(), "bclogout: sign-out return refused: state missing, forged or already used")
		http.Error(w, "sign-out not started here", http.StatusBadRequest)
		return
	}
	b.signedOutPage(w, r)
}

// signedOutPage serves Config.SignedOut, or redirects to "/" without one.
func (b *RP) signedOutPage(w http.ResponseWriter, r *http.Request) {
	if b.signedOut != nil {
		b.signedOut.ServeHTTP(w, r)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// defaultSignOutFailed is SignOut's answer when the local step failed and
// Config.SignOutFailed is nil.
func defaultSignOutFailed(w http.ResponseWriter, _ *http.Request) {
	http.Error(w, "Sign-out failed: you are still signed in. Please try again.", http.StatusInternalServerError)
}

func (b *RP) stateCookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: b.stateName, Value: value, Path: b.statePath, MaxAge: maxAge,
		HttpOnly: true, Secure: b.stateSecure, SameSite: http.SameSiteLaxMode,
	}
}

// setSignOut checks Config.PostLogoutRedirectURI and readies the state
// cookie for it.
func (b *RP) setSignOut(clientID, postLogout string) error {
	b.clientID = clientID
	// One cookie name per client: apps on one host (ports share cookies)
	// do not take each other's state.
	sum := sha256.Sum256([]byte(clientID))
	b.stateName, b.statePath = "bclogout_signout_"+hex.EncodeToString(sum[:4]), "/"
	if postLogout == "" {
		return nil
	}
	u, err := url.Parse(postLogout)
	switch {
	case err != nil:
		return errs.Config("bclogout", "PostLogoutRedirectURI %q: %v", postLogout, err)
	case !u.IsAbs() || u.Host == "":
		return errs.Config("bclogout", "PostLogoutRedirectURI %q is not an absolute URL", postLogout)
	case u.Fragment != "" || strings.Contains(postLogout, "#"):
		return errs.Config("bclogout", "PostLogoutRedirectURI %q has a fragment", postLogout)
	case u.User != nil:
		return errs.Config("bclogout", "PostLogoutRedirectURI %q has userinfo", postLogout)
	case discovery.CheckURL(u, false) != nil:
		return errs.Config("bclogout", "PostLogoutRedirectURI %q must use https (http only on a loopback host)", postLogout)
	case slices.ContainsFunc(strings.Split(u.Path, "/"), func(seg string) bool { return seg == "." || seg == ".." }):
		// The browser removes them, escaped or not, before it asks (RFC
		// 3986 §5.2.4): it would come back elsewhere, maybe to a door of
		// Endpoints, without the state cookie scoped to this path.
		return errs.Config("bclogout", "PostLogoutRedirectURI %q has a . or .. segment", postLogout)
	case strings.Contains(strings.SplitN(postLogout, "?", 2)[0], `\`):
		// The browser reads one as / in an http(s) URL (WHATWG URL, path
		// state), so it would ask for another path than the state
		// cookie's, and after a .. maybe a door's. u.Path cannot tell it
		// from %5C, which the browser sends as it is.
		return errs.Config("bclogout", "PostLogoutRedirectURI %q has a backslash in its path", postLogout)
	}
	b.stateSecure = strings.EqualFold(u.Scheme, "https")
	b.postLogout = postLogout
	if p := u.EscapedPath(); p != "" {
		// As the browser sends it, escaped: RFC 6265 §5.1.4 matches the
		// cookie's Path against the request's path as sent.
		b.statePath = p
	}
	return nil
}

// setLogoutMetadata checks the end_session_endpoint (https, or http where
// the issuer itself is http, as for a local OP) and derives the origins
// that may frame the front-channel logout page.
func (b *RP) setLogoutMetadata(md *discovery.Metadata) error {
	iss, err := url.Parse(b.issuer)
	if err != nil {
		return fmt.Errorf("bclogout: issuer: %w", err)
	}
	b.cognito = cognitoIssuer(iss)
	origins := []string{iss.Scheme + "://" + iss.Host}
	if md.EndSessionEndpoint != "" {
		u, err := url.Parse(md.EndSessionEndpoint)
		if err != nil || !u.IsAbs() || u.Host == "" || u.Fragment != "" || u.User != nil ||
			(u.Scheme != "https" && !(u.Scheme == "http" && iss.Scheme == "http")) {
			return fmt.Errorf("bclogout: discovery: end_session_endpoint %q is not an https URL", md.EndSessionEndpoint)
		}
		if b.cognito && b.postLogout == "" {
			// Cognito's /logout requires logout_uri (or a new login's
			// redirect_uri): without it, it shows an error page and the
			// Cognito session lives on.
			return errs.Config("bclogout", "AWS Cognito's logout needs a logout_uri: set PostLogoutRedirectURI to the sign-out route's URL, registered as an allowed sign-out URL")
		}
		b.endSession = u
		if o := u.Scheme + "://" + u.Host; o != origins[0] {
			origins = append(origins, o)
		}
	}
	b.frameAncestors = "frame-ancestors " + strings.Join(origins, " ")
	b.frontChannel, b.frontChannelSession = md.FrontchannelLogoutSupported, md.FrontchannelLogoutSessionSupported
	return nil
}

// cognitoIssuer reports whether iss is an AWS Cognito user pool's
// (https://cognito-idp.<region>.amazonaws.com/<pool>, or .amazonaws.com.cn
// in China, cognito-idp-fips in FIPS regions). The issuer, not the
// end_session_endpoint, says so: the logout URL is on the pool's domain,
// which may be a custom one.
func cognitoIssuer(iss *url.URL) bool {
	host := strings.ToLower(iss.Hostname())
	return (strings.HasPrefix(host, "cognito-idp.") || strings.HasPrefix(host, "cognito-idp-fips.")) &&
		(strings.HasSuffix(host, ".amazonaws.com") || strings.HasSuffix(host, ".amazonaws.com.cn"))
}
