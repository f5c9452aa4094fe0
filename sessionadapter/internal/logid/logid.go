// Package logid names a local session in logs and errors without the
// session's ID, which for scs (and any store keyed by its cookie's value)
// is the session cookie itself: whoever reads the log must not get the
// session.
package logid

import (
	"crypto/sha256"
	"encoding/hex"
)

// Of returns a short hash of localID: enough to match a log line to a
// session whose cookie is known, useless to sign in with.
func Of(localID string) string {
	sum := sha256.Sum256([]byte(localID))
	return "sha256:" + hex.EncodeToString(sum[:6])
}
