package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bclogout/bclogout/sessionadapter"
)

// Revocations survive a reopen; expired entries and a torn last line are
// dropped by the compaction at open.
func TestFileRevocationsSurviveReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	login := time.Now().Add(-time.Hour)
	live := sessionadapter.Binding{Issuer: "https://op.example", Subject: "alice", SessionID: "s1", LocalID: "a", LoginTime: login}
	gone := sessionadapter.Binding{Issuer: "https://op.example", Subject: "bob", SessionID: "s2", LocalID: "b", LoginTime: login}
	r, err := openFileRevocations(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Revoke(ctx, sessionadapter.Logout{Issuer: live.Issuer, SessionID: "s1", IssuedAt: time.Now()}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "revocations.jsonl")
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	expired, _ := json.Marshal(revRecord{Issuer: gone.Issuer, SessionID: "s2", IssuedAt: login, Until: time.Now().Add(-time.Minute)})
	_, _ = f.Write(append(expired, '\n'))
	_, _ = f.WriteString(`{"iss":"https://op.ex`) // a crash mid-write
	_ = f.Close()

	r, err = openFileRevocations(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, _ := r.Revoked(ctx, live); !got {
		t.Error("a revocation was lost across a reopen")
	}
	if got, _ := r.Revoked(ctx, gone); got {
		t.Error("an expired revocation came back")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n != 1 || strings.Contains(string(b), `"s2"`) {
		t.Errorf("compacted file holds %d lines: %s", n, b)
	}
}
