#!/usr/bin/env bash
# consumer-check.sh: what a user who imports only the core gets.
#
# Builds a throw-away module that imports rp and sessionadapter from this
# checkout (a replace line, no workspace) and checks its module graph:
# at most MAX_MODULES modules in `go list -m all`, and none of the
# dependencies that belong to adapters and tools. This holds the module
# split in place: one stray import in the root module (even from a test)
# would put go-redis or echo into every user's version selection.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# 24: rp and sessionadapter bring jwx v3 and its dependencies (23 modules
# with their own test requirements, such as testify, which go list -m all
# counts but no build downloads), and rp's strict JSON decoder
# (github.com/go-json-experiment/json). jwx v4 had fewer, but needs
# encoding/json/v2, which Go 1.26 has only behind GOEXPERIMENT.
max=${MAX_MODULES:-24}
go=${GO:-go}

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# The consumer declares the oldest Go we support and builds with the Go on
# PATH as it is (GOTOOLCHAIN=local, as the official golang images set it),
# with no GOEXPERIMENT: no dependency may ask for a newer Go or for a
# language experiment, and the consumer's go line must stay as written.
goversion=1.26.0
cat >"$dir/go.mod" <<MOD
module example.com/consumer

go $goversion

require github.com/bclogout/bclogout v0.0.0-00010101000000-000000000000

replace github.com/bclogout/bclogout => $repo
MOD
cat >"$dir/main.go" <<'GO'
package main

import (
	"github.com/bclogout/bclogout/rp"
	"github.com/bclogout/bclogout/sessionadapter"
)

var _ = rp.NewHandler
var _ = sessionadapter.NewMemory

func main() {}
GO

cd "$dir"
export GOWORK=off GOFLAGS=-mod=mod GOTOOLCHAIN=local
unset GOEXPERIMENT
"$go" mod tidy >/dev/null
"$go" build ./...
if ! grep -qx "go $goversion" go.mod || grep -q '^toolchain ' go.mod; then
	echo "consumer-check: the consumer's go line was changed:" >&2
	cat go.mod >&2
	exit 1
fi
mods=$("$go" list -m all)
n=$(printf '%s\n' "$mods" | wc -l)
fail=0
for bad in labstack/echo prometheus chromedp coreos/go-oidc redis/go-redis alicebob/miniredis gorilla/ alexedwards/scs go-chi/chi jackc/pgx; do
	if printf '%s\n' "$mods" | grep -q "$bad"; then
		echo "consumer-check: importing rp and sessionadapter pulls in $bad" >&2
		fail=1
	fi
done
if [ "$n" -gt "$max" ]; then
	echo "consumer-check: $n modules in the consumer's graph, more than $max:" >&2
	fail=1
fi
if [ "$fail" -ne 0 ]; then
	printf '%s\n' "$mods" >&2
	exit 1
fi
echo "consumer-check: a go $goversion module importing rp + sessionadapter builds with $("$go" env GOVERSION) as is; $n modules (at most $max), no adapter dependency"
