# Relay — build, run and test. `make help` lists the targets.

GO           ?= go
BIN          ?= bin/relay
# Local defaults for `make run`; override on the command line or in the
# environment. The secret below is for a laptop only. DATABASE_URL is left
# unset unless you set it: Relay then stores in the SQLite file relay.db
# here, so `make run` needs no database server; DATABASE_URL=postgres://…
# selects PostgreSQL (`make cluster` defaults to the local one).
PG_ADMIN_URL ?= postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
AUTH_SECRET  ?= relay-local-development-secret-0123456789
ADDR         ?= 127.0.0.1:8080
# `make cluster` only (not exported: `make run` stays single-instance).
REDIS_URL    ?= redis://127.0.0.1:6379/0
# Integration tests create a fresh database per test on this server; they
# fail (never skip) when it cannot be reached.
TEST_DATABASE_URL ?= $(PG_ADMIN_URL)

export AUTH_SECRET ADDR TEST_DATABASE_URL
ifneq ($(DATABASE_URL),)
export DATABASE_URL
endif

.PHONY: help build run cluster migrate test test-unit mocks lint bench load fuzz

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

build: ## build bin/relay
	$(GO) build -trimpath -o $(BIN) ./cmd/relay

run: build ## run the service on ADDR in dev mode (SQLite file relay.db, or DATABASE_URL); open http://ADDR/
	$(BIN) createdb
	RELAY_DEV=1 $(BIN) serve

cluster: build ## run three instances on 127.0.0.1:8081-8083 (local PostgreSQL and Redis) until Ctrl-C
	BIN='$(BIN)' REDIS_URL='$(REDIS_URL)' .ci/cluster.sh

migrate: build ## apply the database migrations to DATABASE_URL (unset: relay.db)
	$(BIN) createdb
	$(BIN) migrate

test: ## every test, with the race detector; PostgreSQL is required
	$(GO) test -race -count=1 ./...

test-unit: ## unit tests only: no database, no network
	$(GO) test -race -short -count=1 ./...

mocks: ## regenerate ports/mocks with mockgen
	$(GO) generate ./ports/...

lint: ## gofmt, go vet, staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

LOAD_FLAGS ?= -groups 10 -subscribers 100 -rate 200 -duration 20s

load: ## load a running `make run` (same ADDR and AUTH_SECRET) with cmd/relay-load; LOAD_FLAGS shapes it
	$(GO) build -trimpath -o bin/relay-load ./cmd/relay-load
	ulimit -n 65535 2>/dev/null || true; bin/relay-load -url http://$(ADDR) $(LOAD_FLAGS)

FUZZTIME ?= 30s
# Every fuzz target, as package:Target; `make fuzz` runs each for FUZZTIME.
FUZZ_TARGETS = \
	./domain:FuzzParseCursor \
	./domain:FuzzParseInboxCursor \
	./domain:FuzzParseConversationCursor \
	./adapters/wire:FuzzDecode \
	./adapters/wire:FuzzRoundTrip \
	./adapters/httpapi:FuzzSendMessageBody \
	./adapters/httpapi:FuzzCreateDMBody \
	./adapters/httpapi:FuzzCreateGroupBody \
	./adapters/httpapi:FuzzAddMemberBody \
	./adapters/httpapi:FuzzMarkReadBody \
	./adapters/httpapi:FuzzEventWriter \
	./adapters/httpapi:FuzzTokenParser

fuzz: ## run each fuzz target for FUZZTIME (default 30s), one after the other
	GO=$(GO) FUZZTIME=$(FUZZTIME) .ci/fuzz $(FUZZ_TARGETS)

bench: ## benchmarks of the hot paths
	$(GO) test -run '^$$' -bench . -benchmem ./...
