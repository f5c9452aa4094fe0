// Package discovery fetches an OpenID Provider's discovery document (OpenID
// Connect Discovery 1.0 §4) and the JSON documents it points to, over URLs
// that must be https unless their host is loopback. It serves jwks, whose
// Discover and Remote are the API; bclogout.New, which reads the logout
// metadata of the same fetch (Found) and fetches a Shared Signals
// transmitter's configuration with the same client (NewClient); and the
// demo, which also needs the login endpoints.
package discovery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// ErrFetch is exported by jwks as jwks.ErrFetch: fetching a document
// failed, or the discovery document is not the issuer's.
var ErrFetch = errors.New("jwks: fetch")

// MaxBody caps discovery documents and JWK Sets; real ones are a few KiB
// (Entra ID's JWKS is about 20 KiB).
const MaxBody = 1 << 20

// Metadata is the part of an OP's discovery document (OpenID Connect
// Discovery 1.0 §3, Back-Channel Logout 1.0 §2.1, RP-Initiated Logout 1.0
// §2.1, Front-Channel Logout 1.0 §3) this module reads.
type Metadata struct {
	Issuer                string `json:"issuer"`
	JWKSURI               string `json:"jwks_uri"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	EndSessionEndpoint    string `json:"end_session_endpoint"`
	// SigningAlgs is id_token_signing_alg_values_supported without "none".
	SigningAlgs                       []string `json:"id_token_signing_alg_values_supported"`
	BackchannelLogoutSupported        bool     `json:"backchannel_logout_supported"`
	BackchannelLogoutSessionSupported bool     `json:"backchannel_logout_session_supported"`
	// Front-Channel Logout 1.0 §3.
	FrontchannelLogoutSupported        bool `json:"frontchannel_logout_supported"`
	FrontchannelLogoutSessionSupported bool `json:"frontchannel_logout_session_supported"`
}

const wellKnown = "/.well-known/openid-configuration"

// Fetch fetches issuer's discovery document from issuer +
// "/.well-known/openid-configuration", one trailing slash of issuer removed
// first (§4.1). It requires a 200 answer with a JSON content type and a body
// of at most MaxBody, an "issuer" exactly equal to issuer (§4.3), and a
// "jwks_uri" that passes CheckURL. "none" is dropped from SigningAlgs.
// Every error wraps ErrFetch; issuer itself must have passed CheckURL.
func Fetch(ctx context.Context, client *http.Client, issuer string, allowHTTP bool) (*Metadata, error) {
	docURL := strings.TrimSuffix(issuer, "/") + wellKnown
	body, _, err := Get(ctx, client, docURL, true)
	if err != nil {
		return nil, err
	}
	md, err := Parse(issuer, body, allowHTTP)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrFetch, docURL, err)
	}
	return md, nil
}

// Parse validates a discovery document fetched for issuer; its errors
// carry no prefix. It reads the document strictly (Unmarshal), as rp reads
// the tokens whose keys and issuer it names: a member name in another case is an
// unknown member ("End_Session_Endpoint" is not end_session_endpoint), a
// name given twice, invalid UTF-8 or bytes after the document are errors.
// encoding/json would match names case-insensitively and keep the last of
// two, so that two readers of one document could disagree on its keys.
func Parse(issuer string, body []byte, allowHTTP bool) (*Metadata, error) {
	var md Metadata
	if err := Unmarshal(body, &md); err != nil {
		return nil, err
	}
	if md.Issuer != issuer {
		return nil, fmt.Errorf("issuer %q, want %q", md.Issuer, issuer)
	}
	if md.JWKSURI == "" {
		return nil, errors.New("no jwks_uri")
	}
	if _, err := ParseURL(md.JWKSURI, allowHTTP); err != nil {
		return nil, fmt.Errorf("jwks_uri: %w", err)
	}
	algs := md.SigningAlgs[:0:0]
	for _, a := range md.SigningAlgs {
		// "none" in any case: a verifier comparing case-insensitively
		// must not find it either.
		if !strings.EqualFold(a, "none") {
			algs = append(algs, a)
		}
	}
	md.SigningAlgs = algs
	return &md, nil
}

// Get fetches url and returns its body and headers, requiring a 200 answer
// and at most MaxBody bytes; requireJSON also requires a JSON media type.
// Its errors read "jwks: fetch URL: cause" and wrap ErrFetch.
func Get(ctx context.Context, client *http.Client, url string, requireJSON bool) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("%w %s: %v", ErrFetch, url, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%w %s: %w", ErrFetch, url, withoutURL(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// Drain a little so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, nil, fmt.Errorf("%w %s: status %d", ErrFetch, url, resp.StatusCode)
	}
	if requireJSON && !isJSON(resp.Header.Get("Content-Type")) {
		return nil, nil, fmt.Errorf("%w %s: content type %q is not json", ErrFetch, url, resp.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil {
		return nil, nil, fmt.Errorf("%w %s: %w", ErrFetch, url, err)
	}
	if len(body) > MaxBody {
		return nil, nil, fmt.Errorf("%w %s: body exceeds %d bytes", ErrFetch, url, MaxBody)
	}
	return body, resp.Header, nil
}

// clientTimeout bounds every request of NewClient's client.
const clientTimeout = 10 * time.Second

// NewClient returns the client for a caller that gives none: it times out,
// and refuses a redirect to a URL CheckURL refuses, so that an https URL
// (or a loopback http one) cannot become plain http to another host on
// the way: the documents it fetches name the keys that verify logouts. Its
// transport is its own, so that CloseIdleConnections leaves no connection
// goroutines behind.
func NewClient(allowHTTP bool) *http.Client {
	var transport http.RoundTripper
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		transport = t.Clone()
	}
	return &http.Client{
		Transport: transport,
		Timeout:   clientTimeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("stopped after 5 redirects")
			}
			return CheckURL(req.URL, allowHTTP)
		},
	}
}

// withoutURL drops the *url.Error layer, whose text repeats the method and
// URL the caller's message already names; errors.Is still sees the cause
// (a context error, a refused redirect).
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// isJSON accepts application/json and any +json type, parameters allowed.
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// ErrInsecureURL is what ParseURL and CheckURL refuse a URL with.
var ErrInsecureURL = errors.New("insecure url")

// ParseURL parses raw and applies CheckURL.
func ParseURL(raw string, allowHTTP bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrInsecureURL, raw, err)
	}
	if err := CheckURL(u, allowHTTP); err != nil {
		return nil, err
	}
	return u, nil
}

// CheckURL requires an absolute https URL; plain http only reaches
// loopback hosts, where no network attacker sits between RP and OP, unless
// allowHTTP.
func CheckURL(u *url.URL, allowHTTP bool) error {
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("%w %q: no host", ErrInsecureURL, u.Redacted())
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return nil
	case "http":
		if allowHTTP || IsLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("%w %q: http to a host that is not loopback", ErrInsecureURL, u.Redacted())
	default:
		return fmt.Errorf("%w %q: scheme must be https", ErrInsecureURL, u.Redacted())
	}
}

// IsLoopback matches the name "localhost" exactly (so not
// "localhost.evil.com") and loopback IP literals.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// documentJSON is the strict reading of the documents that name an issuer and
// where its keys are (the discovery document, a Shared Signals transmitter's
// configuration; a JWK Set itself is read by jwx): member names match exactly,
// so "ISSUER" is not "issuer" (encoding/json would match it case-insensitively
// and keep the last); a name given twice in one object is an error rather than
// a choice between two values (RFC 8259 §4 says parsers disagree on it);
// invalid UTF-8 is an error rather than U+FFFD. Unknown members are ignored, as
// the specifications require. The decoder is
// github.com/go-json-experiment/json, the Go team's mirror of encoding/json/v2,
// which can be named while the module's go directive is 1.26. The options
// restate json/v2's defaults so that no default change upstream can loosen them
// silently; package rp reads tokens by the same options.
var documentJSON = json.JoinOptions(
	jsontext.AllowDuplicateNames(false),
	jsontext.AllowInvalidUTF8(false),
	json.MatchCaseInsensitiveNames(false),
	json.RejectUnknownMembers(false),
)

// Unmarshal decodes the document data into v strictly (documentJSON).
func Unmarshal(data []byte, v any) error {
	return json.Unmarshal(data, v, documentJSON)
}
