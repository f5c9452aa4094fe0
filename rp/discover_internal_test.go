package rp

import (
	"slices"
	"testing"
)

func TestDiscoveredAlgs(t *testing.T) {
	suite := []string{"none", "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"}
	tests := []struct {
		name    string
		listed  []string
		secret  bool
		want    []string
		wantErr bool
	}{
		{name: "nothing listed", listed: nil, want: []string{"RS256"}},
		{name: "the conformance suite's list", listed: suite, want: []string{"RS256"}},
		{name: "rs256 only", listed: []string{"RS256"}, want: []string{"RS256"}},
		{name: "no rs256", listed: []string{"none", "HS256", "ES256", "PS256"}, want: []string{"ES256", "PS256"}},
		{name: "no rs256, with a secret", listed: []string{"HS256", "ES256"}, secret: true, want: []string{"HS256", "ES256"}},
		{name: "nothing usable", listed: []string{"none", "HS256"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := discoveredAlgs(tt.listed, tt.secret)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
