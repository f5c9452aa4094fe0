package sessionadapter_test

import (
	"testing"
	"time"

	"github.com/bclogout/bclogout/sessionadapter"
)

func TestLoginBinding(t *testing.T) {
	iat := time.Unix(1700000000, 0)
	exp := iat.Add(time.Hour)
	l := sessionadapter.Login{Issuer: "https://op.example", Subject: "alice", SessionID: "s1", IssuedAt: iat}
	got := l.Binding("local-1", exp)
	want := sessionadapter.Binding{Issuer: l.Issuer, Subject: "alice", SessionID: "s1", LocalID: "local-1", LoginTime: iat, Expires: exp}
	if got != want {
		t.Errorf("Binding = %+v, want %+v", got, want)
	}
}
