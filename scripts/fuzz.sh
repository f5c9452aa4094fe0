#!/usr/bin/env bash
# fuzz.sh FUZZTIME PKG...: runs every fuzz target of the packages for
# FUZZTIME each, and fails on the first target that finds a failing input.
#
# Go 1.26's fuzzing coordinator can report its own -fuzztime deadline as a
# failure ("context deadline exceeded", golang/go#75804, fixed in Go 1.27)
# when a worker is mid-input as the time runs out. A failing input is
# always written to the package's testdata/fuzz/TARGET before the fuzzer
# fails, so a failure that wrote none and says exactly that is the
# coordinator's: it is reported and the run goes on.
set -euo pipefail
fuzztime=$1
shift
GO=${GO:-go}
# inputs DIR: how many corpus files DIR holds (0 when it does not exist).
inputs() { if [ -d "$1" ]; then find "$1" -type f | wc -l; else echo 0; fi; }
for pkg in $("$GO" list "$@"); do
	dir=$("$GO" list -f '{{.Dir}}' "$pkg")
	for f in $("$GO" test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		echo "fuzz $pkg $f"
		corpus="$dir/testdata/fuzz/$f"
		before=$(inputs "$corpus")
		out=$(mktemp)
		if "$GO" test -run='^$' -fuzz="^$f\$" -fuzztime="$fuzztime" "$pkg" 2>&1 | tee "$out"; then
			rm -f "$out"
			continue
		fi
		after=$(inputs "$corpus")
		if [ "$after" -eq "$before" ] && grep -q '^    context deadline exceeded$' "$out"; then
			echo "fuzz $pkg $f: no failing input; the coordinator reported its own deadline (golang/go#75804)"
			rm -f "$out"
			continue
		fi
		rm -f "$out"
		exit 1
	done
done
