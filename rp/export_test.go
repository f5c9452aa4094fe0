package rp

import "sync/atomic"

// CountDecryptAttempts counts the private-key operations (JWE decryption
// attempts) from now until the returned stop is called.
func CountDecryptAttempts() (n *atomic.Int64, stop func()) {
	n = new(atomic.Int64)
	decryptAttempted = func() { n.Add(1) }
	return n, func() { decryptAttempted = func() {} }
}
