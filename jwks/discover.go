package jwks

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/bclogout/bclogout/internal/discovery"
	"github.com/bclogout/bclogout/internal/errs"
)

// Discover reads issuer's discovery document (OpenID Connect Discovery 1.0
// §4) and returns a Remote for the JWK Set at its jwks_uri, once a first
// fetch of that set succeeded, and the signing algorithms the OP lists
// (id_token_signing_alg_values_supported without "none").
//
// The document is fetched from issuer + "/.well-known/openid-configuration",
// one trailing slash of issuer removed first (§4.1). It must come with a
// 200 answer, a JSON content type and at most 1 MiB, be one JSON object
// whose member names are exact (a name in another case is another member)
// and unique, name exactly issuer as its "issuer" (§4.3), and name a
// "jwks_uri"; issuer and jwks_uri must be
// https unless their host is loopback. Every option applies: the HTTP
// client, logger and insecure http to the discovery fetch too. An invalid
// issuer or option is an invalid configuration; a fetch that fails, or a
// document that does not pass, is an ErrFetch error; a JWK Set with no
// usable key is an ErrInvalidJWKS error. Close the Remote to stop its
// refresher.
func Discover(ctx context.Context, issuer string, opts ...Option) (*Remote, []string, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, nil, err
	}
	if _, err := discovery.ParseURL(issuer, o.allowHTTP); err != nil {
		return nil, nil, errs.Config("jwks", "issuer: %v", err)
	}
	if strings.ContainsAny(issuer, "?#") {
		// OpenID Connect Discovery 1.0 §2 (and Core §2): an issuer has
		// no query or fragment, and the well-known path appended to it
		// would land inside one. A URL's first "?" or "#" starts one,
		// empty ones too.
		return nil, nil, errs.Config("jwks", "issuer %q has a query or fragment", issuer)
	}
	if o.ownClient {
		// The Remote gets a client of its own below.
		defer o.client.CloseIdleConnections()
	}
	md, err := discovery.Fetch(ctx, o.client, issuer, o.allowHTTP)
	if err != nil {
		return nil, nil, err
	}
	o.logger.DebugContext(ctx, "jwks: discovered", "issuer", issuer, "jwks_uri", md.JWKSURI)
	r, err := NewRemote(md.JWKSURI, opts...)
	if err != nil {
		return nil, nil, err
	}
	// Keys that cannot be fetched now are a setup problem to report here,
	// as an unreachable discovery document is; later failures keep the
	// last good set.
	if err := r.refresh(ctx); err != nil {
		return nil, nil, errors.Join(err, r.Close())
	}
	discovery.Report(ctx, md, r)
	return r, md.SigningAlgs, nil
}

// parseURL requires https unless the host is loopback.
func parseURL(raw string, allowHTTP bool) (*url.URL, error) {
	return discovery.ParseURL(raw, allowHTTP)
}
