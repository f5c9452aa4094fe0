#!/usr/bin/env bash
# logoutpath.sh: the files and packages of the library whose code runs for
# one accepted logout token, from the request to the deletion of the
# session, on the README's wiring (examples/scs: scs sessions, every other
# choice the default). It runs examples/scs's TestLogoutPath twice with
# coverage, without and with the logout, and lists the files whose blocks
# ran more often the second time, with how many blocks.
set -euo pipefail
cd "$(dirname "$0")/../examples"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for mode in setup logout; do
	BCLOGOUT_LOGOUT_PATH=$mode go test -count=1 -covermode=count \
		-coverpkg=github.com/bclogout/bclogout/... -coverprofile="$tmp/$mode" \
		-run '^TestLogoutPath$' ./scs >/dev/null
done
awk 'FNR == 1 { next }
	FILENAME ~ /setup$/ { before[$1] += $3; next }
	$3 > before[$1] { split($1, a, ":"); ran[a[1]]++ }
	END { for (f in ran) printf "%4d %s\n", ran[f], f }' "$tmp/setup" "$tmp/logout" | sort -k2 >"$tmp/path"
cat "$tmp/path"
awk '{ f++; p = $2; sub(/\/[^\/]*$/, "", p); pkgs[p] = 1 }
	END { n = 0; for (p in pkgs) n++; printf "%d files in %d packages\n", f, n }' "$tmp/path"
