#!/usr/bin/env bash
# oauth2-proxy.sh
#
# Prints the path of an oauth2-proxy binary of the version the guard's
# end-to-end tests run against (cmd/bclogout TestGuardBehindOAuth2Proxy),
# building it with `go install` into a cache directory the first time
# (about 40 s; the module proxy must be reachable). The tests find it
# through BCLOGOUT_OAUTH2_PROXY:
#   BCLOGOUT_OAUTH2_PROXY=$(scripts/oauth2-proxy.sh) make test
set -euo pipefail

version=${OAUTH2_PROXY_VERSION:-v7.15.6}
cache=${BCLOGOUT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bclogout}
bin="$cache/oauth2-proxy-$version/oauth2-proxy"
if [ ! -x "$bin" ]; then
	mkdir -p "$(dirname "$bin")"
	# Outside any module and workspace: its own go.mod decides.
	(cd "$(dirname "$bin")" && GOWORK=off GOFLAGS= GOBIN="$(pwd)" \
		go install "github.com/oauth2-proxy/oauth2-proxy/v7@$version") >&2
fi
echo "$bin"
