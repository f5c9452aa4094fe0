#!/usr/bin/env bash
# api-check.sh: no dependency type in the public API: a major upgrade of a
# dependency must not be a breaking change for our users.
#
# go doc -all of every package a user of the root module imports must name
# no jwx type (jwk.Set, jwa.SignatureAlgorithm, ...): the JOSE library is an
# implementation detail, so its next major version is no breaking change
# for our users.
set -euo pipefail
cd "$(dirname "$0")/.."
go=${GO:-go}
fail=0
for pkg in . rp jwks replay sessionadapter middleware fakeop; do
	doc=$("$go" doc -all "./$pkg")
	if hits=$(printf '%s\n' "$doc" | grep -nE 'lestrrat-go|\bjw[aekst]\.[A-Z]'); then
		echo "api-check: go doc -all ./$pkg names a jwx type:" >&2
		printf '%s\n' "$hits" >&2
		fail=1
	fi
done
if [ "$fail" -ne 0 ]; then
	exit 1
fi
echo "api-check: no jwx type in the API of bclogout, rp, jwks, replay, sessionadapter, middleware, fakeop"
