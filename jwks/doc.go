// Package jwks supplies the keys that verify an OpenID Provider's logout
// tokens: OpenID Connect Back-Channel Logout 1.0 §2.6 step 2 ("validate the
// signature ... in the same way as an ID Token", i.e. OpenID Connect Core
// 1.0 §10.1.1 with the OP's JWK Set from its jwks_uri, RFC 7517 §5).
//
// Two sources are provided:
//
//   - [Remote] fetches a JWK Set URL, refreshes it in the background and on
//     a token whose kid it does not know. [Discover] reads the OP's
//     discovery document (OpenID Connect Discovery 1.0 §4) for its jwks_uri
//     and signing algorithms and returns a Remote for it.
//   - A [KeySet] from [ParseKeySet] is a fixed set, for OPs whose keys are
//     configured rather than fetched.
//
// Keys come as a [KeySet] of [Key]s: this package's own immutable types,
// converted from the JWKs once per fetch, carrying standard-library keys
// only and signature keys only (an OP's encryption keys are left out). The
// JOSE library that parses JWKs (jwx) appears nowhere in the API, so its
// next major version changes nothing for callers; ParseKeySet also builds
// the KeySet a Source of one's own returns.
//
// [ParsePrivateSet] reads the RP's own private keys, the other direction:
// the [PrivateSet] that rp.WithDecryptionKeys takes to decrypt encrypted
// logout tokens. It is the only way to make one, so every decryption key
// has passed one set of checks.
//
// Errors read once, each layer adding its own prefix ("jwks: fetch URL:
// status 503"), and wrap [ErrFetch] or [ErrInvalidJWKS]; an invalid
// argument or option is the module's invalid-configuration error
// (bclogout.ErrInvalidConfig).
//
// # Why not jwx's cache
//
// jwx's refreshing cache (its Cache type up to v3, the separate jwkfetch
// module since v4, both built on httprc) refreshes on a schedule, but it has no
// notion of a kid miss, so collapsing a rotation-driven refresh across
// concurrent requests and rate limiting it has to be built around it anyway.
// Remote is therefore a small refresher over net/http; parsing the keys
// stays jwx's.
//
// # Remote's rules
//
//   - The last good key set survives everything that is not a good key set:
//     a transport failure, a non-200 answer, a body that is not a JWK Set,
//     and a JWK Set with no usable key ({"keys":[]} included, which is far
//     more likely a broken OP than a deliberate revocation of every key).
//     A failed first fetch leaves nothing cached; the next one may succeed.
//   - Within a fetched set, an entry jwx cannot parse (an unknown kty, say)
//     is skipped rather than failing the set, and so is an entry holding
//     private or symmetric key material, which an OP must never publish,
//     an RSA key under 2048 or over 16,384 bits, or an Ed25519 key of
//     small order, for which anyone can sign; each is logged. Keys
//     without an "alg" member are kept unchanged: which algorithms such a
//     key may verify is the verifier's decision.
//   - A token with an unknown kid triggers one fetch, shared by every
//     concurrent caller, and such kid-miss fetches happen at most once a
//     second. A miss within that second waits for the next allowed fetch
//     rather than failing, at most 1.5 s (and bounded by its context),
//     however many misses already wait: a flood of random kids costs the OP about one
//     request a second and cannot starve a genuine token signed with a key
//     rotated in meanwhile, which is found within about a second; every
//     unknown kid is answered well within the 5 to 10 s an OP gives a
//     delivery. A token that the cached key it selects does not verify is
//     such a miss too ([Remote.Refresh], which the rp verifier calls): an
//     OP with one key and no kid that rotates it, or one that makes a new
//     key under its old kid, names no new kid to miss.
//   - Background refresh follows Cache-Control max-age or Expires, minus
//     Age (RFC 9111 §4.2), clamped into 5 min to 24 h; without cache
//     headers it refreshes hourly. After a failure it retries with
//     exponential backoff from 10 s up to 5 min. Each of these waits is
//     jittered so that replicas that fetched together do not keep doing
//     so: a refresh comes up to a tenth early (never later than the
//     headers allow; at the earliest after 4.5 min), a retry after half
//     to all of its backoff (5 s at the earliest). Kid-miss fetches are
//     not jittered: the one-a-second limit and the 1.5 s wait stand.
//   - URLs must be https, except for loopback hosts (127.0.0.0/8, ::1,
//     "localhost"), unless [WithInsecureAllowHTTP] says otherwise.
//   - [Remote.Close] stops the refresher and any fetch in flight and waits
//     for them: no goroutine outlives it.
package jwks
