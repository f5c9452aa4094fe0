// Package integration holds end-to-end tests that wire rp.Handler to the
// Redis replay cache and session store the way a deployment of several
// replicas does (OpenID Connect Back-Channel Logout 1.0 §2.7 and §2.8:
// sessions ended once, a failed logout answered 400 so the OP retries).
// It has no non-test code. It imports the adapters, so it sits above
// them beside examples/, not in internal/ with the helpers they import.
package integration
