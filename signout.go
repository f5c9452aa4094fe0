package bclogout

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bclogout/bclogout/internal/discovery"
	"github.com/bclogout/bclogout/internal/errs"
	"github.com/bclogout/bclogout/rp"
)

// ErrNoEndSession is returned by SignOut when the OP's discovery document
// has no end_session_endpoint (it does not implement RP-Initiated Logout
// 1.0): the session has been ended here, at every replica, but the OP
// session lives on, and with it single sign-on to this and the other apps.
// Tell the user to sign out at the OP too.
var ErrNoEndSession = errors.New("bclogout: the OP has no end_session_endpoint; signed out of this app only")

// ErrSignOutState is returned by FinishSignOut when the request back from
// the OP carries no state, or one this browser was not given by SignOut,
// or one already used: the request is forged or replayed.
var ErrSignOutState = errors.New("bclogout: sign-out state missing, forged or already used")

// SignOutHint tells the OP whose session SignOut ends, as RP-Initiated
// Logout 1.0 §2 describes. Both may be empty: the OP then goes by its own
// cookie (and may ask the user to confirm).
type SignOutHint struct {
	// IDToken is the raw ID token the OP issued at login, sent as
	// id_token_hint. Keep it in the session at login to send it.
	IDToken string
	// LogoutHint is sent as logout_hint, for an app that keeps no ID
	// token: a value whose meaning the OP defines (Microsoft Entra ID
	// takes the ID token's login_hint claim).
	LogoutHint string
}

// doorSignOut names the app's own sign-outs in metrics, logs and hooks.
const doorSignOut = "signout"

// stateMaxAge is how long a sign-out may take at the OP before the state
// it carries back is refused.
const stateMaxAge = 10 * time.Minute

// SignOut signs the user out of this app and of the OP (RP-Initiated
// Logout 1.0): call it from the app's "Sign out" handler (a POST, so that
// no other site can sign the user out with a link).
//
// First, here: it revokes the session's OP session (its sid) through the
// revocations the guard enforces, so the session ends at once in every
// tab and at every replica (even a cookie session, or one a request in
// flight writes back), deletes the data of the sessions bound to it, and
// ends the request's session (Config.Sessions' End). A session whose login
// had no sid (an OP that puts none in its ID tokens) is ended, but nothing
// is revoked, since a revocation by sub would end the user's sessions on
// every device; the OP's back-channel logout then ends any copy.
//
// Then, at the OP: it redirects (303) to the end_session_endpoint from
// discovery with the hint, client_id and, when Config has one, the
// PostLogoutRedirectURI and a random state, which a short-lived HttpOnly
// cookie keeps for FinishSignOut. The OP ends its session and sends a
// logout to the other apps of the session (back-channel, or front-channel
// in the page it shows). The redirect URI only ever comes from Config,
// never from the request.
//
// When the local step fails, SignOut returns the error and writes nothing:
// answer 500 and let the user try again. When the OP has no
// end_session_endpoint, it returns ErrNoEndSession, having ended the
// local session, and writes nothing.
func (b *RP) SignOut(w http.ResponseWriter, r *http.Request, hint SignOutHint) error {
	var revokeErr error
	if binding, ok := b.sessions.Lookup(r); ok && binding.SessionID != "" && binding.Issuer == b.issuer {
		// Dated at this login's iat (the OP's clock, as the guard compares
		// it), whatever the revocation store's clock-skew tolerance: this
		// login of the OP session and any earlier one end, and the store
		// deletes this session's binding and data. A sid revocation also
		// ends logins up to the OP clock skew (one minute) after its date,
		// so a single sign-on within that minute in an OP session that
		// lives on (no end_session_endpoint, or the user declined at the
		// OP) is refused with ErrLoggedOut: fail closed; a later one is not.
		// It is the pipeline's, as every door's logout is: a store that
		// fails has it retried.
		_, revokeErr = b.handler.End(r, &rp.LogoutEvent{
			Door: doorSignOut, Issuer: binding.Issuer, Subject: binding.Subject, SessionID: binding.SessionID, IssuedAt: binding.LoginTime,
		})
	}
	if err := errors.Join(revokeErr, b.sessions.End(w, r)); err != nil {
		return fmt.Errorf("bclogout: sign out: %w", err)
	}
	if b.endSession == nil {
		return ErrNoEndSession
	}
	u := *b.endSession
	q := u.Query()
	q.Set("client_id", b.clientID)
	if hint.IDToken != "" {
		q.Set("id_token_hint", hint.IDToken)
	}
	if hint.LogoutHint != "" {
		q.Set("logout_hint", hint.LogoutHint)
	}
	if b.postLogout != "" {
		state := rand.Text()
		q.Set("post_logout_redirect_uri", b.postLogout)
		q.Set("state", state)
		http.SetCookie(w, b.stateCookie(state, int(stateMaxAge/time.Second)))
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
	return nil
}

// FinishSignOut checks the state the OP sent back to the
// PostLogoutRedirectURI (RP-Initiated Logout 1.0 §3) against the one
// SignOut gave this browser, and forgets it, so each state serves once.
// Call it in the handler of that route before showing "signed out". It
// returns ErrSignOutState for a missing, forged or replayed state: the
// user did not come back from a sign-out this app started (the local
// session is ended either way).
func (b *RP) FinishSignOut(w http.ResponseWriter, r *http.Request) error {
	ck, err := r.Cookie(b.stateName)
	http.SetCookie(w, b.stateCookie("", -1))
	got := r.URL.Query().Get("state")
	if err != nil || ck.Value == "" || got == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(got)) != 1 {
		return ErrSignOutState
	}
	return nil
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
	origins := []string{iss.Scheme + "://" + iss.Host}
	if md.EndSessionEndpoint != "" {
		u, err := url.Parse(md.EndSessionEndpoint)
		if err != nil || !u.IsAbs() || u.Host == "" || u.Fragment != "" || u.User != nil ||
			(u.Scheme != "https" && !(u.Scheme == "http" && iss.Scheme == "http")) {
			return fmt.Errorf("bclogout: discovery: end_session_endpoint %q is not an https URL", md.EndSessionEndpoint)
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
