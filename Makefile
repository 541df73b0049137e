# Grantor's build. `make test` is what CI runs: it sets the machine up
# (scripts/setup.sh installs what is missing, or says how), then runs vet
# and race-enabled tests over every module of the repository.
#
# Every test runs, or `make test` fails: the browser test of examples/server
# and the PostgreSQL tests are left out only when asked for explicitly,
#
#	make test GRANTOR_SKIP_BROWSER=1 GRANTOR_SKIP_POSTGRES=1

# Go as found on PATH, or else where the official archive puts it.
ifeq ($(shell command -v go 2>/dev/null),)
ifneq ($(wildcard /usr/local/go/bin/go),)
export PATH := /usr/local/go/bin:$(PATH)
endif
endif
GO      ?= go
# Every module of the repository, each with its own go.mod.
# bench has a go.work of its own, so that fosite's dependencies never
# change the versions the library is built and tested with.
MODULES := . examples storage/postgres storage/sqlite bench
# The modules of go.work, vetted and tested by one go command each time, so
# that their packages build and run side by side rather than module after
# module; bench, outside the workspace, runs on its own.
WORKSPACE := $(filter-out bench,$(MODULES))
WORKSPACE_PKGS := $(foreach m,$(WORKSPACE),$(if $(filter .,$(m)),./...,./$(m)/...))
# The tests of storage/postgres and examples/server need a PostgreSQL
# server: `make test` runs the workspace's tests under
# scripts/with-postgres.sh, which starts a throwaway one (and stops it even
# when the tests fail) and hands it over in GRANTOR_TEST_POSTGRES.
WITH_POSTGRES := $(if $(filter 1,$(GRANTOR_SKIP_POSTGRES)),,scripts/with-postgres.sh)

# The packages whose allocation and heap tests run only without the race
# detector, which allocates behind the code under test: run once more
# without it, so that those tests are never left out.
NORACE_PKGS := ./internal/jose ./token ./storage/memory

# The tests read these from the environment; `make test VAR=1` puts them there.
export GRANTOR_SKIP_BROWSER GRANTOR_SKIP_POSTGRES

.PHONY: test setup vet lint fmt tidy bench cluster-test soak

test: setup vet
	@echo "== scripts/setup_test.sh"
	@scripts/setup_test.sh
	@[ "$(GRANTOR_SKIP_BROWSER)" != 1 ] || echo "== GRANTOR_SKIP_BROWSER=1: the browser test is skipped"
	@[ "$(GRANTOR_SKIP_POSTGRES)" != 1 ] || echo "== GRANTOR_SKIP_POSTGRES=1: the PostgreSQL tests are skipped"
	@echo "== go test -race $(WORKSPACE)"
	@$(WITH_POSTGRES) $(GO) test -race -count=1 $(WORKSPACE_PKGS)
	@echo "== go test -race bench"
	@cd bench && $(GO) test -race -count=1 ./...
	@echo "== go test $(NORACE_PKGS) (allocation and heap tests, meaningless under -race)"
	@$(GO) test -count=1 $(NORACE_PKGS)

# setup installs what the tests need, or stops saying how (scripts/setup.sh).
setup:
	@scripts/setup.sh

vet:
	@echo "== go vet $(WORKSPACE)"
	@$(GO) vet $(WORKSPACE_PKGS)
	@echo "== go vet bench"
	@cd bench && $(GO) vet ./...

# lint: gofmt, go vet and staticcheck, all of which must be clean.
lint: vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	@command -v staticcheck >/dev/null 2>&1 || $(GO) install honnef.co/go/tools/cmd/staticcheck@latest
	@set -e; sc=$$(command -v staticcheck || echo $$($(GO) env GOPATH)/bin/staticcheck); \
	for m in $(MODULES); do echo "== staticcheck $$m"; (cd $$m && $$sc ./...); done

fmt:
	gofmt -w $$(git ls-files '*.go')

tidy:
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) mod tidy); done

# bench prints the comparison tables of the bench module (Grantor, a bare
# net/http baseline, fosite with a fast hasher and with its default bcrypt)
# for every scenario: handler benchmarks, HTTP load on server processes,
# heap per token, DPoP proofs and tokens, then the targets. It takes about
# 14 minutes; see `cd bench && go run ./cmd/benchtable -h` for a shorter run.
bench:
	cd bench && $(GO) run ./cmd/benchtable

# cluster-test runs two example servers over a throwaway PostgreSQL, kills
# one with SIGKILL under a mixed load, restarts it, and checks that no
# token was lost or redeemed twice and that the survivor answered no 5xx
# (examples/cluster; `go run ./examples/cluster crash -h` for its flags).
# It takes about a minute and sends traffic to 127.0.0.1 only.
#
# Both build the harness first and run its binary, not `go run`, so that an
# interrupt or a timeout reaches the harness, which stops its servers; and
# `timeout` bounds a run that hangs.
CLUSTER_BIN := $(or $(TMPDIR),/tmp)/grantor-cluster
cluster-test:
	@echo "== cluster crash test"
	@cd examples && $(GO) build -o $(CLUSTER_BIN) ./cluster
	@timeout --signal=TERM --kill-after=30s 5m scripts/with-postgres.sh $(CLUSTER_BIN) crash

# soak runs the same two servers under the mixed load for SOAK_DURATION and
# reports requests per second, errors (there must be none), p99 latency
# and each server's live heap after warm-up and at the end (it must not
# grow by more than 10%).
SOAK_DURATION ?= 10m
soak:
	@echo "== cluster soak, $(SOAK_DURATION)"
	@cd examples && $(GO) build -o $(CLUSTER_BIN) ./cluster
	@scripts/with-postgres.sh $(CLUSTER_BIN) soak -duration $(SOAK_DURATION)
