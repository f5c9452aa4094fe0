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
# 20: rp and sessionadapter bring jwx v4 and its few dependencies, and
# rp's strict JSON decoder (github.com/go-json-experiment/json).
max=${MAX_MODULES:-20}
go=${GO:-go}

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
goversion=$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$repo/go.mod")
# The toolchain the repository develops on (Go 1.27): on Go 1.26 a consumer
# also needs GOEXPERIMENT=jsonv2 for jwx v4, which changes no module graph.
toolchain=$(sed -n 's/^toolchain \(go[0-9.]*\).*/\1/p' "$repo/go.mod")
cat >"$dir/go.mod" <<MOD
module example.com/consumer

go $goversion

toolchain ${toolchain:-go$goversion}

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
export GOWORK=off GOFLAGS=-mod=mod
"$go" mod tidy >/dev/null
"$go" build ./...
mods=$("$go" list -m all)
n=$(printf '%s\n' "$mods" | wc -l)
fail=0
for bad in labstack/echo prometheus chromedp coreos/go-oidc redis/go-redis alicebob/miniredis gorilla/ alexedwards/scs go-chi/chi; do
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
echo "consumer-check: rp + sessionadapter bring $n modules (at most $max), no adapter dependency"
