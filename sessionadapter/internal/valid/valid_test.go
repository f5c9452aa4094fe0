package valid_test

import (
	"errors"
	"testing"

	"github.com/bclogout/bclogout/sessionadapter/internal/valid"
)

func TestBinding(t *testing.T) {
	tests := []struct {
		name                      string
		issuer, sub, sid, localID string
		wantErr                   error
	}{
		{name: "sub and sid", issuer: "https://op", sub: "alice", sid: "s1", localID: "l1"},
		{name: "sub only", issuer: "https://op", sub: "alice", localID: "l1"},
		{name: "sid only", issuer: "https://op", sid: "s1", localID: "l1"},
		{name: "no issuer", sub: "alice", sid: "s1", localID: "l1", wantErr: valid.ErrInvalid},
		{name: "no local ID", issuer: "https://op", sub: "alice", wantErr: valid.ErrInvalid},
		{name: "neither sub nor sid", issuer: "https://op", localID: "l1", wantErr: valid.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := valid.Binding(tt.issuer, tt.sub, tt.sid, tt.localID); !errors.Is(err, tt.wantErr) {
				t.Fatalf("Binding = %v, want %v", err, tt.wantErr)
			}
		})
	}
}
