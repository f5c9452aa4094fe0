package opkit

import (
	"net/http"
	"strings"
	"time"
)

// accessToken is what /token issued alongside an ID token: the bearer
// credential the userinfo endpoint takes.
type accessToken struct {
	sid     string
	expires time.Time
}

// sweepExpired forgets up to sweepBatch expired entries of m, oldest first,
// and returns what is left of order. Entries already gone from m (a code
// redeemed) are deleted again, a no-op. With one lifetime per map and a
// clock that does not go back, the oldest entries expire first; an injected
// clock that goes back can leave a later entry expired behind an earlier
// live one, removed once that one expires.
func sweepExpired[V any](m map[string]V, order []issuedCode, now time.Time) []issuedCode {
	for i := 0; i < sweepBatch && len(order) > 0 && !now.Before(order[0].expires); i++ {
		delete(m, order[0].code)
		order[0] = issuedCode{}
		order = order[1:]
	}
	return order
}

// issueAccessTokenLocked returns a fresh access token for the OP session
// sid, valid as long as the ID token issued with it.
func (op *OP) issueAccessTokenLocked(sid string, now time.Time) string {
	op.tokenOrder = sweepExpired(op.accessTokens, op.tokenOrder, now)
	tok := randomID()
	exp := now.Add(idTokenLifetime)
	op.accessTokens[tok] = &accessToken{sid: sid, expires: exp}
	op.tokenOrder = append(op.tokenOrder, issuedCode{code: tok, expires: exp})
	return tok
}

// handleUserInfo is the UserInfo endpoint (OpenID Connect Core 1.0 §5.3):
// the bearer token (RFC 6750 §2.1 header, or §2.2 form body on POST) names
// an OP session, whose user it describes. A token stops working when it
// expires or when its OP session ends, as at Keycloak.
func (op *OP) handleUserInfo(w http.ResponseWriter, r *http.Request) {
	tok, ok := bearerToken(w, r)
	if !ok {
		// RFC 6750 §3.1: a malformed request is invalid_request, 400.
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_request"`)
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	now := op.cfg.clock()
	var sub string
	op.mu.Lock()
	op.tokenOrder = sweepExpired(op.accessTokens, op.tokenOrder, now)
	if at, ok := op.accessTokens[tok]; ok && now.Before(at.expires) {
		if s, ok := op.sessions[at.sid]; ok {
			sub = s.sub
		}
	}
	op.mu.Unlock()
	if sub == "" {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token"})
		return
	}
	// The fake OP knows its users by the name typed at login and nothing
	// else, so that name is every profile claim it has.
	writeJSON(w, http.StatusOK, map[string]string{"sub": sub, "name": sub, "preferred_username": sub})
}

// bearerToken finds the access token of a userinfo request; "" when there
// is none. It fails only for a request that is malformed: a body that
// cannot be read, or a token sent two ways at once (RFC 6750 §2).
func bearerToken(w http.ResponseWriter, r *http.Request) (string, bool) {
	var fromBody string
	if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
		if err := r.ParseForm(); err != nil {
			return "", false
		}
		if vs := r.PostForm["access_token"]; len(vs) > 1 {
			return "", false
		} else if len(vs) == 1 {
			fromBody = vs[0]
		}
	}
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return fromBody, true
	}
	if fromBody != "" {
		return "", false
	}
	scheme, tok, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", true // another scheme carries no token of ours
	}
	return strings.TrimSpace(tok), true
}
