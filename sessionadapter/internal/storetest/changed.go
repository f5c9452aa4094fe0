package storetest

import (
	"testing"
	"time"

	"github.com/bclogout/bclogout/sessionadapter"
)

// RunChanged checks the Changed channels of two replicas of one shared
// store: both fire for a revocation one of them records, neither for the
// same logout retried once the other has learnt it, and both when lose
// makes the store lose its revocations (the loss floor ends sessions).
func RunChanged(t *testing.T, writer, reader Replica, lose func()) {
	t.Helper()
	ctx := t.Context()
	l := sessionadapter.Logout{Issuer: "https://op.example", SessionID: "s", IssuedAt: time.Now()}

	w, r := writer.Changed(), reader.Changed()
	if err := writer.Revoke(ctx, l, time.Hour); err != nil {
		t.Fatal(err)
	}
	fires(t, w, 0, "the recording replica, at a revocation")
	fires(t, r, 10*time.Second, "the other replica, at a revocation")

	b := sessionadapter.Binding{Issuer: l.Issuer, SessionID: l.SessionID, LoginTime: l.IssuedAt}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if got, err := reader.Revoked(ctx, b); err == nil && got {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the other replica never learnt the revocation")
		}
	}
	w = writer.Changed()
	if err := writer.Revoke(ctx, l, time.Hour); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w:
		t.Error("a retried logout fired Changed")
	default:
	}

	w, r = writer.Changed(), reader.Changed()
	lose()
	fires(t, w, 10*time.Second, "the first replica, at a loss")
	fires(t, r, 10*time.Second, "the second replica, at a loss")
}

// fires fails t unless ch is closed within d.
func fires(t *testing.T, ch <-chan struct{}, d time.Duration, what string) {
	t.Helper()
	select {
	case <-ch:
		return
	default:
	}
	select {
	case <-ch:
	case <-time.After(d):
		t.Errorf("Changed did not fire for %s", what)
	}
}
