package discovery

import "context"

// Found is what one discovery found: the document, and the key source made
// for its jwks_uri (K is *jwks.Remote, which this package cannot name:
// jwks imports it).
//
// It serves a caller that reaches discovery through an exported
// constructor returning less than the caller needs: bclogout.New calls
// rp.Discover, which returns a Verifier, and also needs the document's
// logout metadata and the key set, to share it with the SET verifier.
// Fetching the document again would read the OP twice, and a wider
// rp.Discover would be API for one caller. So the caller puts a Found in
// the context it passes down (as net/http/httptrace puts a ClientTrace),
// and the discovery fills it in on success. Nothing else in the context
// changes what the calls do.
type Found[K any] struct {
	Metadata *Metadata
	Keys     K
}

type foundKey[K any] struct{}

// WithFound returns a context in which a successful discovery with keys of
// type K fills f.
func WithFound[K any](ctx context.Context, f *Found[K]) context.Context {
	return context.WithValue(ctx, foundKey[K]{}, f)
}

// Report fills the Found that ctx carries for keys of type K, if any: call
// it once the document and the keys are good.
func Report[K any](ctx context.Context, md *Metadata, keys K) {
	if f, ok := ctx.Value(foundKey[K]{}).(*Found[K]); ok {
		f.Metadata, f.Keys = md, keys
	}
}
