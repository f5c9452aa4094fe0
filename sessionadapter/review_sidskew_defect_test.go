package sessionadapter_test

import (
	"context"
	"testing"
	"time"

	"github.com/bclogout/bclogout/sessionadapter"
)

// TestRevocationsDefectSidLogoutLostToOPClockSkew: a sid-scoped logout
// names one OP session; a fresh login always gets a new sid, so nothing
// but that session can carry the sid. Yet MemoryRevocations (and
// redisadapter.Revocations) only end it when the logout token's iat is
// >= the ID token's iat (revocations.go hit: e.at >= login), with no
// tolerance. The two iats come from the OP's clocks at different moments,
// often from different nodes of a clustered OP (Keycloak, ZITADEL, whose
// logout iat is now-1s): an OP node 2 s behind the one that issued the ID
// token makes the logout miss its own session. For cookie sessions the
// revocation is the only enforcement, so the user stays signed in.
func TestRevocationsDefectSidLogoutLostToOPClockSkew(t *testing.T) {
	ctx := context.Background()
	rev, err := sessionadapter.NewMemoryRevocations()
	if err != nil {
		t.Fatal(err)
	}
	// ID token from OP node A; the OP session is ended a second later by
	// node B, whose clock is 2 s behind A's.
	login := sessionadapter.Binding{Issuer: "https://op.example", Subject: "alice", SessionID: "sid-1",
		LocalID: "cookie-session", LoginTime: time.Unix(1_700_000_000, 0)}
	logout := sessionadapter.Logout{Issuer: "https://op.example", Subject: "alice", SessionID: "sid-1",
		IssuedAt: login.LoginTime.Add(time.Second - 2*time.Second)}
	if err := rev.Revoke(ctx, logout, time.Hour); err != nil {
		t.Fatal(err)
	}
	if revoked, _ := rev.Revoked(ctx, login); !revoked {
		t.Error("the logout of OP session sid-1 does not revoke the session bound to sid-1")
	}
}
