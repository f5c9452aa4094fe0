package jwks

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// Metadata is the part of an OP's discovery document (OpenID Connect
// Discovery 1.0 §3, Back-Channel Logout 1.0 §2.1) a relying party uses.
type Metadata struct {
	// Issuer is "issuer", checked by Discover to equal the issuer asked for.
	Issuer string `json:"issuer"`
	// JWKSURI is "jwks_uri", where the OP publishes its signing keys; required.
	JWKSURI string `json:"jwks_uri"`
	// AuthorizationEndpoint is "authorization_endpoint", where logins start.
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	// TokenEndpoint is "token_endpoint", where codes become ID tokens.
	TokenEndpoint string `json:"token_endpoint"`
	// EndSessionEndpoint is "end_session_endpoint" (RP-Initiated Logout); empty if absent.
	EndSessionEndpoint string `json:"end_session_endpoint"`
	// IDTokenSigningAlgValuesSupported is "id_token_signing_alg_values_supported",
	// without "none", which Discover drops.
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`
	// BackchannelLogoutSupported is "backchannel_logout_supported" (§2.1).
	BackchannelLogoutSupported bool `json:"backchannel_logout_supported"`
	// BackchannelLogoutSessionSupported is "backchannel_logout_session_supported"
	// (§2.1): the OP can put a sid claim in logout tokens.
	BackchannelLogoutSessionSupported bool `json:"backchannel_logout_session_supported"`
}

const wellKnown = "/.well-known/openid-configuration"

// Discover fetches issuer's discovery document from issuer +
// "/.well-known/openid-configuration", one trailing slash of issuer removed
// first (OpenID Connect Discovery 1.0 §4.1).
//
// It requires a 200 answer with a JSON content type and a body of at most
// 1 MiB, an "issuer" exactly equal to issuer (§4.3: ErrIssuerMismatch), and
// a "jwks_uri"; issuer and jwks_uri must be https unless their host is
// loopback. "none" is dropped from the algorithm list. Every error wraps
// ErrDiscovery, and ErrFetch, ErrInsecureURL, ErrIssuerMismatch or
// ErrInvalidConfig when that is the cause. It takes the Options (HTTP
// client, logger, insecure http), every one of which it uses.
func Discover(ctx context.Context, issuer string, opts ...Option) (*Metadata, error) {
	o, err := buildDiscoverOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDiscovery, err)
	}
	if _, err := parseURL(issuer, o.allowHTTP); err != nil {
		return nil, fmt.Errorf("%w: %w: issuer: %w", ErrDiscovery, ErrInvalidConfig, err)
	}
	if o.ownClient {
		defer o.client.CloseIdleConnections()
	}
	docURL := strings.TrimSuffix(issuer, "/") + wellKnown
	body, _, err := get(ctx, o.client, docURL, true)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDiscovery, err)
	}
	md, err := parseDiscovery(issuer, body, o.allowHTTP)
	if err != nil {
		return nil, err
	}
	o.logger.DebugContext(ctx, "jwks: discovered", "issuer", issuer, "jwks_uri", md.JWKSURI)
	return md, nil
}

// parseDiscovery validates a discovery document fetched for issuer.
func parseDiscovery(issuer string, body []byte, allowHTTP bool) (*Metadata, error) {
	var md Metadata
	if err := json.Unmarshal(body, &md); err != nil {
		return nil, fmt.Errorf("%w: document: %v", ErrDiscovery, err)
	}
	if md.Issuer != issuer {
		return nil, fmt.Errorf("%w: %w: want %q, document says %q", ErrDiscovery, ErrIssuerMismatch, issuer, md.Issuer)
	}
	if md.JWKSURI == "" {
		return nil, fmt.Errorf("%w: document has no jwks_uri", ErrDiscovery)
	}
	if _, err := parseURL(md.JWKSURI, allowHTTP); err != nil {
		return nil, fmt.Errorf("%w: jwks_uri: %w", ErrDiscovery, err)
	}
	algs := md.IDTokenSigningAlgValuesSupported[:0:0]
	for _, a := range md.IDTokenSigningAlgValuesSupported {
		// "none" in any case: a verifier comparing case-insensitively
		// must not find it either.
		if !strings.EqualFold(a, "none") {
			algs = append(algs, a)
		}
	}
	md.IDTokenSigningAlgValuesSupported = algs
	return &md, nil
}

// get fetches url and returns its body and headers, requiring a 200 answer and at most
// maxBody bytes; requireJSON also requires a JSON media type.
func get(ctx context.Context, client *http.Client, url string, requireJSON bool) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrFetch, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// Drain a little so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, nil, fmt.Errorf("%w: %s: status %d", ErrFetch, url, resp.StatusCode)
	}
	if requireJSON && !isJSON(resp.Header.Get("Content-Type")) {
		return nil, nil, fmt.Errorf("%w: %s: content type %q is not json", ErrFetch, url, resp.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %w", ErrFetch, url, err)
	}
	if len(body) > maxBody {
		return nil, nil, fmt.Errorf("%w: %s: body exceeds %d bytes", ErrFetch, url, maxBody)
	}
	return body, resp.Header, nil
}

// isJSON accepts application/json and any +json type, parameters allowed.
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}
