package demo

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bclogout/bclogout/internal/discovery"
)

// ErrLogin means the authorization-code login with the OP failed.
var ErrLogin = errors.New("demo: login failed")

// oidcClient is the smallest authorization-code client the demo needs. A
// real app uses a full OIDC client library instead.
type oidcClient struct {
	meta        *discovery.Metadata
	clientID    string
	secret      string
	redirectURI string
	http        *http.Client
}

// idClaims are the ID token claims the demo binds a session with.
type idClaims struct {
	Issuer  string `json:"iss"`
	Subject string `json:"sub"`
	SID     string `json:"sid"`
	Nonce   string `json:"nonce"`
	IAT     int64  `json:"iat"`
}

func (c *oidcClient) authURL(state, nonce string) string {
	q := url.Values{
		"response_type": {"code"},
		"client_id":     {c.clientID},
		"redirect_uri":  {c.redirectURI},
		"scope":         {"openid"},
		"state":         {state},
		"nonce":         {nonce},
	}
	sep := "?"
	if strings.Contains(c.meta.AuthorizationEndpoint, "?") {
		sep = "&"
	}
	return c.meta.AuthorizationEndpoint + sep + q.Encode()
}

// exchange redeems code at the token endpoint and returns the ID token's
// claims.
//
// The ID token comes straight from the token endpoint over a connection
// the RP opened itself, so OpenID Connect Core 1.0 §3.1.3.7 (item 6) lets
// the client rely on that channel instead of checking the signature. The
// demo does exactly that and no more: it checks iss, aud and nonce below
// and reads the rest. A real app verifies the ID token with its OIDC client
// library; and the OP's channel is plain http on loopback here only because
// everything is on one machine.
func (c *oidcClient) exchange(ctx context.Context, code, nonce string) (idClaims, error) {
	form := url.Values{
		"grant_type":   {"authorization_code"},
		"code":         {code},
		"redirect_uri": {c.redirectURI},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.meta.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return idClaims{}, fmt.Errorf("%w: %v", ErrLogin, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(c.clientID), url.QueryEscape(c.secret))
	resp, err := c.http.Do(req)
	if err != nil {
		return idClaims{}, fmt.Errorf("%w: token request: %v", ErrLogin, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return idClaims{}, fmt.Errorf("%w: token response: %v", ErrLogin, err)
	}
	if resp.StatusCode != http.StatusOK {
		return idClaims{}, fmt.Errorf("%w: token endpoint answered %s: %s", ErrLogin, resp.Status, strings.TrimSpace(string(body)))
	}
	var tr struct {
		IDToken string `json:"id_token"`
	}
	if err := json.Unmarshal(body, &tr); err != nil || tr.IDToken == "" {
		return idClaims{}, fmt.Errorf("%w: token response has no id_token", ErrLogin)
	}
	claims, aud, err := decodeIDToken(tr.IDToken)
	if err != nil {
		return idClaims{}, err
	}
	switch {
	case claims.Issuer != c.meta.Issuer:
		return idClaims{}, fmt.Errorf("%w: id token issuer %q, want %q", ErrLogin, claims.Issuer, c.meta.Issuer)
	case !aud[c.clientID]:
		return idClaims{}, fmt.Errorf("%w: id token audience lacks %q", ErrLogin, c.clientID)
	case claims.Nonce != nonce:
		return idClaims{}, fmt.Errorf("%w: id token nonce does not match", ErrLogin)
	case claims.Subject == "":
		return idClaims{}, fmt.Errorf("%w: id token has no sub", ErrLogin)
	}
	return claims, nil
}

func decodeIDToken(compact string) (idClaims, map[string]bool, error) {
	parts := strings.Split(compact, ".")
	if len(parts) != 3 {
		return idClaims{}, nil, fmt.Errorf("%w: id token is not a compact JWS", ErrLogin)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return idClaims{}, nil, fmt.Errorf("%w: id token payload: %v", ErrLogin, err)
	}
	var c idClaims
	if err := json.Unmarshal(b, &c); err != nil {
		return idClaims{}, nil, fmt.Errorf("%w: id token payload: %v", ErrLogin, err)
	}
	var a struct {
		Aud json.RawMessage `json:"aud"`
	}
	_ = json.Unmarshal(b, &a)
	aud := map[string]bool{}
	var one string
	var many []string
	if json.Unmarshal(a.Aud, &one) == nil {
		aud[one] = true
	} else if json.Unmarshal(a.Aud, &many) == nil {
		for _, s := range many {
			aud[s] = true
		}
	}
	return c, aud, nil
}

// loginTime is the ID token's iat on the OP's clock, which is what a
// logout token's iat is compared with.
func (c idClaims) loginTime() time.Time { return time.Unix(c.IAT, 0) }

// randomID returns 128 random bits, base64url: state, nonce, session IDs.
func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}
