# The two commands a user needs: `make demo` and `make test`.
GO       ?= go
# Every package of every module in go.work (the root module and each
# adapter, tool and example module): a pattern on the module path crosses
# module boundaries where ./... does not.
PKGS     ?= github.com/bclogout/bclogout/...
FUZZTIME ?= 10s
# Every go.mod says go 1.26.0: the tests build with the Go on PATH as it is.
# test-gos runs the root module's tests again on the oldest Go that line
# allows and on the newest release, each fetched through the module proxy.
OTHER_GOS ?= go1.26.0 go1.27.4

.PHONY: all test api-check test-gos vet race bench fuzz demo build cover consumer-check static

all: test

build:
	$(GO) build $(PKGS)

vet:
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

# Real redis-server and a 3-node cluster come up around the tests when
# redis-server is installed (scripts/with-redis.sh), and a real PostgreSQL
# when initdb is (scripts/with-postgres.sh).
WITH_SERVERS ?= ./scripts/with-redis.sh ./scripts/with-postgres.sh
test: vet consumer-check api-check static test-gos
	$(WITH_SERVERS) $(GO) test -race -count=1 $(PKGS)

# The command, bclogout guard among its subcommands, builds as one static
# binary: no cgo. Built here, before the tests, not beside them.
static:
	CGO_ENABLED=0 $(GO) build -o /dev/null ./cmd/bclogout

# No jwx type in the API of the root module's packages (scripts/api-check.sh).
api-check:
	./scripts/api-check.sh

# A module that imports only rp and sessionadapter must not pull in the
# adapters' dependencies (scripts/consumer-check.sh).
consumer-check:
	./scripts/consumer-check.sh

# The root module's packages on the oldest and the newest Go, no GOEXPERIMENT.
test-gos:
	@set -e; for v in $(OTHER_GOS); do \
		echo "test-gos: $$v"; \
		GOTOOLCHAIN=$$v GOWORK=off $(GO) test -count=1 ./...; \
	done

# Against a real redis-server and PostgreSQL when installed, as the Redis
# and PostgreSQL benchmarks mean.
bench:
	$(WITH_SERVERS) $(GO) test -run='^$$' -bench=. -benchmem $(PKGS)

# A short run of every fuzz target, one at a time (go test -fuzz takes one).
fuzz:
	GO=$(GO) ./scripts/fuzz.sh $(FUZZTIME) $(PKGS)

# make demo ARGS=--check exits after the self-check. Built, then exec'd in
# place of the recipe's shell: the demo is make's own child, so Ctrl-C and
# make's SIGTERM reach it, and no `go run` can exit first and leave it
# holding its ports (cmd/bclogout TestMakeDemoStops).
DEMO_BIN ?= $(CURDIR)/bin/bclogout
demo:
	$(GO) build -o $(DEMO_BIN) ./cmd/bclogout
	exec $(DEMO_BIN) demo $(ARGS)
