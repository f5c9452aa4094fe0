package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/bclogout/bclogout/sessionadapter"
)

// fileRevocations keeps the single-replica mode's revocations in a file
// beside the session files, so that they survive a restart as the
// sessions do: after a restart the in-memory bindings are gone and a
// logout deletes nothing, so the revocation is all that keeps a
// logged-out session ended. Several replicas use redisadapter.Revocations
// instead. Each Revoke is appended (and synced) before it is applied; at
// start the file is replayed and rewritten with the live entries only.
type fileRevocations struct {
	watchableRevocations // in memory, where the guard checks
	mu                   sync.Mutex
	f                    *os.File
	path                 string
}

// watchableRevocations is what sessionadapter.NewMemoryRevocations
// returns: Revocations that middleware.NewNotifier can watch.
type watchableRevocations interface {
	sessionadapter.Revocations
	sessionadapter.Watchable
}

type revRecord struct {
	Issuer    string    `json:"iss"`
	Subject   string    `json:"sub,omitempty"`
	SessionID string    `json:"sid,omitempty"`
	IssuedAt  time.Time `json:"iat"`
	Until     time.Time `json:"until"`
}

func openFileRevocations(dir string) (*fileRevocations, error) {
	revs, err := sessionadapter.NewMemoryRevocations()
	if err != nil {
		return nil, err
	}
	mem, ok := revs.(watchableRevocations)
	if !ok {
		return nil, errors.New("memory revocations are not watchable")
	}
	path := filepath.Join(dir, "revocations.jsonl")
	var live []revRecord
	if old, err := os.Open(path); err == nil {
		sc := bufio.NewScanner(old)
		now := time.Now()
		for sc.Scan() {
			var r revRecord
			if json.Unmarshal(sc.Bytes(), &r) != nil || !r.Until.After(now) {
				continue // a torn last line, or expired
			}
			l := sessionadapter.Logout{Issuer: r.Issuer, Subject: r.Subject, SessionID: r.SessionID, IssuedAt: r.IssuedAt}
			if mem.Revoke(context.Background(), l, r.Until.Sub(now)) == nil {
				live = append(live, r)
			}
		}
		err = errors.Join(sc.Err(), old.Close())
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	// Compact: write the live entries to a new file, then swap it in.
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	enc := json.NewEncoder(f)
	for _, r := range live {
		if err := enc.Encode(r); err != nil {
			f.Close()
			return nil, err
		}
	}
	if err := errors.Join(f.Sync(), f.Close(), os.Rename(tmp, path)); err != nil {
		return nil, err
	}
	if f, err = os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o600); err != nil {
		return nil, err
	}
	return &fileRevocations{watchableRevocations: mem, f: f, path: path}, nil
}

// Revoke records the revocation in the file, then in memory; an error
// means it may not be recorded, and the handler answers so that the
// logout is retried.
func (r *fileRevocations) Revoke(ctx context.Context, l sessionadapter.Logout, keepFor time.Duration) error {
	if err := l.Validate(); err != nil || keepFor <= 0 {
		return r.watchableRevocations.Revoke(ctx, l, keepFor) // its error
	}
	iat := l.IssuedAt
	if iat.IsZero() {
		iat = time.Now() // as the memory revocations date it
		l.IssuedAt = iat
	}
	line, err := json.Marshal(revRecord{Issuer: l.Issuer, Subject: l.Subject, SessionID: l.SessionID,
		IssuedAt: iat, Until: time.Now().Add(keepFor)})
	if err != nil {
		return err
	}
	r.mu.Lock()
	_, err = r.f.Write(append(line, '\n'))
	if err == nil {
		err = r.f.Sync()
	}
	r.mu.Unlock()
	if err != nil {
		return fmt.Errorf("recording a revocation in %s: %w", r.path, err)
	}
	return r.watchableRevocations.Revoke(ctx, l, keepFor)
}

func (r *fileRevocations) Close() error { return r.f.Close() }
