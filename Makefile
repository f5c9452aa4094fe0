# The two commands a user needs: `make demo` and `make test`.
GO       ?= go
PKGS     ?= ./...
FUZZTIME ?= 10s

.PHONY: all test vet race bench fuzz demo build cover

all: test

build:
	$(GO) build ./...

vet:
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

# Real redis-server and a 3-node cluster come up around the tests when
# redis-server is installed (scripts/with-redis.sh).
test: vet
	./scripts/with-redis.sh $(GO) test -race -count=1 $(PKGS)

# Against a real redis-server when installed, as the Redis benchmarks mean.
bench:
	./scripts/with-redis.sh $(GO) test -run='^$$' -bench=. -benchmem $(PKGS)

# A short run of every fuzz target, one at a time (go test -fuzz takes one).
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "fuzz $$pkg $$f"; \
			$(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$pkg; \
		done; \
	done

# make demo ARGS=--check exits after the self-check.
demo:
	$(GO) run ./cmd/bclogout demo $(ARGS)
