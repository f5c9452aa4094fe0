package rp_test

import (
	"context"
	"sync"
	"testing"
)

// TestHeaderDecodingIsPerToken runs tokens whose headers differ through
// one Verifier from several goroutines at once: whatever the package
// remembers of the last header decoded, each token must be judged on its
// own header.
func TestHeaderDecodingIsPerToken(t *testing.T) {
	v := newVerifier(t, nil)
	tokens := []struct {
		token   string
		wantErr error
	}{
		{mint(t, nil), nil},
		{mint(t, setHeader("typ", "at+jwt")), errType},
		{mint(t, setHeader("kid", "other")), errUnknownKey},
		{mint(t, setHeader("jku", "https://evil.example/jwks")), errForbiddenHeader},
		{mint(t, setHeader("typ", "JWT")), nil},
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8*len(tokens)*20)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 * len(tokens) {
				tc := tokens[(i+g)%len(tokens)]
				_, err := v.Verify(context.Background(), tc.token)
				if !isErr(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("a token was judged on another token's header: %v", err)
	}
}
