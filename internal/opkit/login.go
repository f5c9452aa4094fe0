package opkit

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// cookieName is the OP's browser-session cookie. Its value is a random
// handle, not the sid, so the sid RPs receive cannot be replayed as a
// cookie.
const cookieName = "fakeop_session"

const (
	codeLifetime    = time.Minute
	idTokenLifetime = time.Hour
	maxFormBody     = 64 << 10
)

// grant is an issued authorization code.
type grant struct {
	clientID    string
	redirectURI string
	nonce       string
	challenge   string // PKCE S256 code_challenge, if any
	sid         string
	expires     time.Time
}

// issuedCode remembers when a code or access token expires, in issue order:
// with one lifetime per kind and a clock that does not go back, the oldest
// expire first.
type issuedCode struct {
	code    string
	expires time.Time
}

// sweepBatch bounds the expired codes one issue or redemption removes. It
// exceeds the one code a call adds, so the backlog shrinks as codes expire.
const sweepBatch = 16

// sweepCodesLocked forgets up to sweepBatch expired codes, oldest first.
func (op *OP) sweepCodesLocked(now time.Time) {
	op.codeOrder = sweepExpired(op.codes, op.codeOrder, now)
}

// authRequest holds the parameters of an authorization request, carried
// through the login form in hidden fields.
type authRequest struct {
	ClientID, RedirectURI, State, Nonce, ResponseType, Scope, Challenge, ChallengeMethod string
	Username                                                                             string
	Error                                                                                string
}

func parseAuthRequest(r *http.Request) authRequest {
	return authRequest{
		ClientID:        r.Form.Get("client_id"),
		RedirectURI:     r.Form.Get("redirect_uri"),
		State:           r.Form.Get("state"),
		Nonce:           r.Form.Get("nonce"),
		ResponseType:    r.Form.Get("response_type"),
		Scope:           r.Form.Get("scope"),
		Challenge:       r.Form.Get("code_challenge"),
		ChallengeMethod: r.Form.Get("code_challenge_method"),
		Username:        "alice",
	}
}

// validate checks the request; a bad client or redirect_uri is answered on
// the OP's own page (never by redirecting to an unregistered URI), other
// errors are redirected back to the RP.
func (op *OP) validateAuth(w http.ResponseWriter, r *http.Request, ar authRequest) bool {
	op.mu.Lock()
	c, ok := op.clients[ar.ClientID]
	op.mu.Unlock()
	if !ok || !slices.Contains(c.RedirectURIs, ar.RedirectURI) {
		op.page(w, http.StatusBadRequest, "error", "unknown client_id or unregistered redirect_uri")
		return false
	}
	switch {
	case ar.ResponseType != "code":
		op.redirectError(w, r, ar, "unsupported_response_type")
		return false
	case !slices.Contains(strings.Fields(ar.Scope), "openid"):
		// OpenID Connect Core 1.0 §3.1.2.1: an OpenID Connect request
		// MUST contain the openid scope. Without it a real OP refuses the
		// request or answers it as plain OAuth 2.0, with no ID token: an
		// app that forgot it must not sign in here either.
		op.redirectError(w, r, ar, "invalid_scope")
		return false
	case ar.Challenge != "" && ar.ChallengeMethod != "S256":
		op.redirectError(w, r, ar, "invalid_request")
		return false
	}
	return true
}

func (op *OP) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	ar := parseAuthRequest(r)
	if !op.validateAuth(w, r, ar) {
		return
	}
	// Single sign-on: a browser with a live OP session is not asked again.
	if s := op.browserSession(r); s != nil && r.Form.Get("prompt") != "login" {
		op.issueCode(w, r, ar, s)
		return
	}
	op.page(w, http.StatusOK, "login", ar)
}

func (op *OP) handleLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		op.page(w, http.StatusBadRequest, "error", "bad form")
		return
	}
	ar := parseAuthRequest(r)
	if !op.validateAuth(w, r, ar) {
		return
	}
	user := strings.TrimSpace(r.PostForm.Get("username"))
	if user == "" {
		ar.Error = "enter a username"
		ar.Username = ""
		op.page(w, http.StatusBadRequest, "login", ar)
		return
	}
	s := op.browserSession(r)
	if s == nil || s.sub != user {
		op.mu.Lock()
		s = op.newSessionLocked(user)
		handle := randomID()
		op.browsers[handle] = s.sid
		op.mu.Unlock()
		http.SetCookie(w, &http.Cookie{
			Name: cookieName, Value: handle, Path: "/", HttpOnly: true,
			SameSite: http.SameSiteLaxMode, Secure: strings.HasPrefix(op.issuer, "https:"),
		})
	}
	op.issueCode(w, r, ar, s)
}

// browserSession returns the OP session of the request's cookie, if live.
func (op *OP) browserSession(r *http.Request) *session {
	ck, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.sessions[op.browsers[ck.Value]]
}

func (op *OP) issueCode(w http.ResponseWriter, r *http.Request, ar authRequest, s *session) {
	code := randomID()
	now := op.cfg.clock()
	g := &grant{
		clientID: ar.ClientID, redirectURI: ar.RedirectURI, nonce: ar.Nonce,
		challenge: ar.Challenge, sid: s.sid, expires: now.Add(codeLifetime),
	}
	op.mu.Lock()
	op.sweepCodesLocked(now)
	op.codes[code] = g
	op.codeOrder = append(op.codeOrder, issuedCode{code: code, expires: g.expires})
	op.mu.Unlock()
	op.redirect(w, r, ar.RedirectURI, url.Values{"code": {code}}, ar.State)
}

func (op *OP) redirectError(w http.ResponseWriter, r *http.Request, ar authRequest, code string) {
	op.redirect(w, r, ar.RedirectURI, url.Values{"error": {code}}, ar.State)
}

func (op *OP) redirect(w http.ResponseWriter, r *http.Request, target string, params url.Values, state string) {
	u, err := withQuery(target, params, state)
	if err != nil {
		op.page(w, http.StatusBadRequest, "error", "bad redirect_uri")
		return
	}
	http.Redirect(w, r, u, http.StatusFound)
}

// withQuery adds params, and state when not empty, to target's query.
func withQuery(target string, params url.Values, state string) (string, error) {
	u, err := url.Parse(target)
	if err != nil {
		return "", err
	}
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	if state != "" {
		q.Set("state", state)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func (op *OP) handleToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type")
		return
	}
	c, ok := op.authenticateClient(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="fakeop"`)
		tokenError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	now := op.cfg.clock()
	op.mu.Lock()
	op.sweepCodesLocked(now)
	code := r.PostForm.Get("code")
	g, ok := op.codes[code]
	delete(op.codes, code) // single use, whatever happens next
	if h := op.held[sidOf(g)]; h != nil {
		// SignOut holds this redemption: the app's callback loaded its
		// session before the logout and saves it after (see SignOut).
		// The code then fails as a code of an ended session does.
		delete(op.held, g.sid)
		op.mu.Unlock()
		h.rep, h.err = op.EndSession(h.ctx, g.sid)
		close(h.done)
		op.mu.Lock()
	}
	var s *session
	if ok {
		s = op.sessions[g.sid]
	}
	valid := ok && s != nil && g.clientID == c.ID && g.redirectURI == r.PostForm.Get("redirect_uri") &&
		now.Before(g.expires) && pkceOK(g.challenge, r.PostForm.Get("code_verifier"))
	var sub, access string
	var authTime time.Time
	if valid {
		s.join(c.ID)
		sub, authTime = s.sub, s.authTime
		access = op.issueAccessTokenLocked(s.sid, now)
	}
	op.mu.Unlock()
	if !valid {
		tokenError(w, http.StatusBadRequest, "invalid_grant")
		return
	}

	claims := map[string]any{
		"iss": op.issuer, "aud": c.ID, "sub": sub, "sid": g.sid,
		"iat": now.Unix(), "exp": now.Add(idTokenLifetime).Unix(), "auth_time": authTime.Unix(),
	}
	if g.nonce != "" {
		claims["nonce"] = g.nonce
	}
	idToken, err := (&Token{Header: map[string]any{"typ": "JWT"}, Claims: claims}).Sign(op.Key())
	if err != nil {
		op.log.Error("fakeop: sign id token", "err", err)
		tokenError(w, http.StatusInternalServerError, "server_error")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": access,
		"token_type":   "Bearer",
		"expires_in":   int(idTokenLifetime / time.Second),
		"id_token":     idToken,
	})
}

// authenticateClient accepts client_secret_basic, client_secret_post, and
// no secret for a public client.
func (op *OP) authenticateClient(r *http.Request) (Client, bool) {
	id, secret, basic := r.BasicAuth()
	if basic {
		// RFC 6749 §2.3.1: both are form-encoded before Basic encoding.
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return Client{}, false
		}
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	op.mu.Lock()
	c, ok := op.clients[id]
	op.mu.Unlock()
	if !ok {
		return Client{}, false
	}
	if c.Secret == "" {
		return *c, secret == ""
	}
	return *c, subtle.ConstantTimeCompare([]byte(c.Secret), []byte(secret)) == 1
}

func pkceOK(challenge, verifier string) bool {
	if challenge == "" {
		return verifier == ""
	}
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(b64(sum[:])), []byte(challenge)) == 1
}

func tokenError(w http.ResponseWriter, status int, code string) {
	writeJSON(w, status, map[string]string{"error": code})
}

// handleEndSession is the end_session endpoint (RP-Initiated Logout 1.0
// §2, §3). It ends the session of the browser's cookie; without one, the
// session an id_token_hint was issued in; for the home page's buttons
// (POST), the session named by sid. It then fans out and redirects to the
// post_logout_redirect_uri with state, or shows the delivery report. A
// post_logout_redirect_uri the client did not register ends nothing. The
// fake OP never asks the user to confirm, not even when the hint names
// another user than the cookie: the cookie's session ends.
func (op *OP) handleEndSession(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		op.page(w, http.StatusBadRequest, "error", "bad form")
		return
	}
	// Every check comes before anything ends: a bad request ends nothing.
	var hint *idTokenHint
	if raw := r.Form.Get("id_token_hint"); raw != "" {
		h, err := op.verifyHint(raw)
		if err != nil {
			op.log.Warn("fakeop: end_session refused", "err", err)
			op.page(w, http.StatusBadRequest, "error", "invalid id_token_hint")
			return
		}
		hint = &h
	}
	clientID := r.Form.Get("client_id")
	if hint != nil && clientID != "" && !slices.Contains(hint.aud, clientID) {
		op.log.Warn("fakeop: end_session refused: client_id is not an audience of id_token_hint", "client_id", clientID, "aud", hint.aud)
		op.page(w, http.StatusBadRequest, "error", "client_id does not match id_token_hint")
		return
	}

	sid := r.PostForm.Get("sid")
	if sid == "" {
		if s := op.browserSession(r); s != nil {
			sid = s.sid
		}
	}
	if sid == "" && hint != nil {
		sid = hint.sid
	}
	var clients, frames []string
	op.mu.Lock()
	if s, ok := op.sessions[sid]; ok {
		clients = slices.Clone(s.clients)
		// Front-Channel Logout 1.0 §3: each RP of the session that
		// registered a frontchannel_logout_uri gets it rendered in an
		// iframe, with iss and sid.
		for _, id := range clients {
			if c, ok := op.clients[id]; ok && c.FrontchannelLogoutURI != "" {
				if u, err := withQuery(c.FrontchannelLogoutURI, url.Values{"iss": {op.issuer}, "sid": {sid}}, ""); err == nil {
					frames = append(frames, u)
				}
			}
		}
	}
	op.mu.Unlock()

	// §3: the URI must be registered by the client the request names:
	// client_id, else the hint's audience, else (the fake OP being
	// lenient) any client that took part in the session. One that is not
	// is refused before anything ends, as real OPs do.
	candidates := clients
	switch {
	case clientID != "":
		candidates = []string{clientID}
	case hint != nil:
		candidates = hint.aud
	}
	target := r.Form.Get("post_logout_redirect_uri")
	if target != "" && len(candidates) == 0 {
		// No hint, no client_id, no session: no client's registration
		// can allow the URI, registered or not.
		op.log.Warn("fakeop: end_session refused: post_logout_redirect_uri without id_token_hint or client_id, and no session to name a client",
			"post_logout_redirect_uri", target)
		op.page(w, http.StatusBadRequest, "error", "post_logout_redirect_uri needs id_token_hint or client_id")
		return
	}
	if target != "" && !op.postLogoutAllowed(target, candidates) {
		op.log.Warn("fakeop: end_session refused: post_logout_redirect_uri not registered (fakeop.Client.PostLogoutRedirectURIs)",
			"post_logout_redirect_uri", target, "clients", candidates)
		op.page(w, http.StatusBadRequest, "error", "post_logout_redirect_uri is not registered for this client")
		return
	}

	var rep Report
	if sid != "" {
		// The fan-out outlives a browser that navigates away; Close still
		// cancels it. An unknown sid (already logged out) ends nothing,
		// and the logout still succeeds.
		rep, _ = op.EndSession(context.WithoutCancel(r.Context()), sid)
	}
	if ck, err := r.Cookie(cookieName); err == nil {
		op.mu.Lock()
		delete(op.browsers, ck.Value)
		op.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true})
	}

	var next string
	if target != "" {
		if len(frames) == 0 {
			op.redirect(w, r, target, url.Values{}, r.Form.Get("state"))
			return
		}
		next, _ = withQuery(target, url.Values{}, r.Form.Get("state"))
	}
	// With front-channel RPs, the page loads their iframes first and only
	// then (every frame loaded, or 5 s) goes on to the redirect URI.
	op.page(w, http.StatusOK, "ended", endedPage{Report: rep, Frames: frames, Next: next})
}

// endedPage is what the "ended" page shows: the back-channel deliveries,
// the front-channel iframes, and where to go next.
type endedPage struct {
	Report
	Frames []string
	Next   string
}

// postLogoutAllowed reports whether one of the clients registered target
// as a post_logout_redirect_uri.
func (op *OP) postLogoutAllowed(target string, clientIDs []string) bool {
	op.mu.Lock()
	defer op.mu.Unlock()
	for _, id := range clientIDs {
		if c, ok := op.clients[id]; ok && slices.Contains(c.PostLogoutRedirectURIs, target) {
			return true
		}
	}
	return false
}

type homeSession struct {
	SID, Sub, AuthTime string
	Clients            []string
}

func (op *OP) handleHome(w http.ResponseWriter, _ *http.Request) {
	op.mu.Lock()
	var list []homeSession
	for _, s := range op.sessions {
		list = append(list, homeSession{
			SID: s.sid, Sub: s.sub, AuthTime: s.authTime.UTC().Format(time.RFC3339),
			Clients: slices.Clone(s.clients),
		})
	}
	clients := slices.Clone(op.clientOrder)
	receivers := len(op.setReceiversLocked()) > 0
	op.mu.Unlock()
	slices.SortFunc(list, func(a, b homeSession) int { return strings.Compare(a.AuthTime+a.SID, b.AuthTime+b.SID) })
	op.page(w, http.StatusOK, "home", map[string]any{"Issuer": op.issuer, "Sessions": list, "Clients": clients, "Receivers": receivers})
}

func (op *OP) page(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := op.tmpl.ExecuteTemplate(w, name, data); err != nil {
		op.log.Error("fakeop: render page", "page", name, "err", err)
	}
}

const pages = `
{{define "head"}}<!doctype html><html><head><meta charset="utf-8"><title>fakeop</title>
<style>body{font-family:sans-serif;max-width:48em;margin:2em auto}td,th{padding:.2em .6em;text-align:left}</style>
</head><body><h1>fakeop</h1>{{end}}
{{define "login"}}{{template "head"}}
<p>Sign in to continue to <b>{{.ClientID}}</b>.</p>
{{with .Error}}<p id="error" style="color:#b00">{{.}}</p>{{end}}
<form method="post" action="authorize">
<input type="hidden" name="client_id" value="{{.ClientID}}">
<input type="hidden" name="redirect_uri" value="{{.RedirectURI}}">
<input type="hidden" name="state" value="{{.State}}">
<input type="hidden" name="nonce" value="{{.Nonce}}">
<input type="hidden" name="response_type" value="{{.ResponseType}}">
<input type="hidden" name="scope" value="{{.Scope}}">
<input type="hidden" name="code_challenge" value="{{.Challenge}}">
<input type="hidden" name="code_challenge_method" value="{{.ChallengeMethod}}">
<label>Username <input id="username" name="username" value="{{.Username}}" autofocus></label>
<button id="signin" type="submit">Sign in</button>
</form></body></html>{{end}}
{{define "home"}}{{template "head"}}
<p>Issuer <code>{{.Issuer}}</code>. Clients: {{range .Clients}}<code>{{.}}</code> {{else}}none{{end}}</p>
<h2>Sessions</h2>
{{if .Sessions}}<table><tr><th>user</th><th>sid</th><th>since</th><th>RPs</th><th></th></tr>
{{range .Sessions}}<tr class="session"><td>{{.Sub}}</td><td><code>{{.SID}}</code></td><td>{{.AuthTime}}</td>
<td>{{range .Clients}}{{.}} {{end}}</td>
<td><form method="post" action="end_session"><input type="hidden" name="sid" value="{{.SID}}">
<button type="submit" class="signout">Sign out everywhere</button></form></td>
{{if $.Receivers}}<td><form method="post" action="push_session_revoked"><input type="hidden" name="sid" value="{{.SID}}">
<button type="submit" class="push-caep">Push CAEP session-revoked</button></form></td>{{end}}</tr>
{{end}}</table>{{else}}<p id="no-sessions">No sessions.</p>{{end}}
</body></html>{{end}}
{{define "ended"}}{{template "head"}}
<h2>Signed out</h2>
{{if .Deliveries}}<table><tr><th>RP</th><th>URI</th><th>attempts</th><th>status</th><th>error</th></tr>
{{range .Deliveries}}<tr class="delivery"><td>{{.ClientID}}</td><td>{{.URI}}</td><td>{{.Attempts}}</td><td>{{.Status}}</td><td>{{with .Err}}{{.}}{{end}}</td></tr>
{{end}}</table>{{else if not .Frames}}<p>No relying party to notify.</p>{{end}}
{{range .Frames}}<iframe class="frontchannel" src="{{.}}" style="width:1px;height:1px;border:0"></iframe>
{{end}}{{if .Next}}<p><a id="next" href="{{.Next}}">Continue</a></p>
<script>(function(){var f=document.querySelectorAll("iframe.frontchannel"),n=f.length,done=false,
go=function(){if(!done){done=true;location.replace(document.getElementById("next").href)}};
f.forEach(function(e){e.addEventListener("load",function(){if(--n<=0)go()})});setTimeout(go,5000)})();</script>
{{end}}<p><a href="./">Sessions</a></p></body></html>{{end}}
{{define "pushed"}}{{template "head"}}
<h2>Pushed CAEP session-revoked</h2>
<p>User <code>{{.Sub}}</code>, OP session <code>{{.SID}}</code> (which stays open here).</p>
<table><tr><th>receiver</th><th>URI</th><th>status</th><th>answer</th></tr>
{{range .Pushes}}<tr class="push"><td>{{.ClientID}}</td><td>{{.URI}}</td><td>{{.Status}}</td><td>{{.Answer}}</td></tr>
{{end}}</table><p><a href="./">Sessions</a></p></body></html>{{end}}
{{define "error"}}{{template "head"}}<p id="error">{{.}}</p></body></html>{{end}}
`

func parsePages() (*template.Template, error) {
	return template.New("fakeop").Parse(pages)
}

// sidOf returns the session of a grant, "" for none.
func sidOf(g *grant) string {
	if g == nil {
		return ""
	}
	return g.sid
}
