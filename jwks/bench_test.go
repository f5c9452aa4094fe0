package jwks_test

import (
	"context"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/bclogout/bclogout/jwks"
)

// benchSet is a set the size of a typical OP's (Entra ID publishes about
// ten keys), the looked-up kid last.
func benchSet(b *testing.B) (jwk.Set, []byte) {
	keys := make([]jwk.Key, 0, 10)
	for i := range 10 {
		keys = append(keys, publicOf(b, genKey(b, "EC", string(rune('a'+i)), "")))
	}
	body := setJSON(b, keys...)
	set, err := jwk.Parse(body)
	if err != nil {
		b.Fatal(err)
	}
	return set, body
}

// BenchmarkLookupKeyID is the baseline: the jwx lookup every Keys call
// ends in.
func BenchmarkLookupKeyID(b *testing.B) {
	set, _ := benchSet(b)
	for b.Loop() {
		if _, ok := set.LookupKeyID("j"); !ok {
			b.Fatal("missing")
		}
	}
}

func benchRemote(b *testing.B) *jwks.Remote {
	_, body := benchSet(b)
	o := newOP(b, body)
	r, err := jwks.NewRemote(o.listen(b).URL, jwks.WithLogger(quiet))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = r.Close() })
	if err := r.RefreshNow(context.Background()); err != nil {
		b.Fatal(err)
	}
	return r
}

func BenchmarkRemoteKeysHit(b *testing.B) {
	r := benchRemote(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := r.Keys(ctx, "j"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRemoteKeysHitParallel(b *testing.B) {
	r := benchRemote(b)
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := r.Keys(ctx, "j"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkStaticKeys(b *testing.B) {
	_, body := benchSet(b)
	s, err := jwks.ParseKeySet(body)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.Keys(ctx, "j"); err != nil {
			b.Fatal(err)
		}
	}
}
