package rp_test

import (
	"context"
	"testing"
)

// TestVerifierFollowsKeySwap: a Source that replaces one key by another
// under the same kid, the set keeping its length, must be followed at once:
// the new key verifies, the removed one no longer does.
func TestVerifierFollowsKeySwap(t *testing.T) {
	k := keys(t)
	set := keySet(t, pubJWK(t, &k.rsa.PublicKey, map[string]any{"kid": "rsa-1", "alg": "RS256"}))
	v := newVerifier(t, &staticSource{set: set})
	old := mint(t, nil)
	if _, err := v.Verify(context.Background(), old); err != nil {
		t.Fatalf("before the swap: %v", err)
	}
	// The OP's key "rsa-1" is replaced in place.
	first, _ := set.Key(0)
	_ = set.RemoveKey(first)
	_ = set.AddKey(pubJWK(t, &k.rsa2.PublicKey, map[string]any{"kid": "rsa-1", "alg": "RS256"}))
	if _, err := v.Verify(context.Background(), mint(t, func(tk *tok) { tk.key = k.rsa2 })); err != nil {
		t.Errorf("token signed with the new key: %v", err)
	}
	if _, err := v.Verify(context.Background(), old); !isErr(err, errBadSignature) {
		t.Errorf("token signed with the removed key: %v, want ErrSignature", err)
	}
}
