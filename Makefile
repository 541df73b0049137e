# Grantor's build. `make test` is what CI runs: vet and race-enabled tests
# over every module of the repository.

GO      ?= go
# Every module of the repository, each with its own go.mod.
# bench has a go.work of its own, so that fosite's dependencies never
# change the versions the library is built and tested with.
MODULES := . examples storage/postgres storage/sqlite bench
# The modules whose tests need a PostgreSQL server: `make test` runs them
# under scripts/with-postgres.sh, which starts a throwaway one (and stops it
# even when the tests fail) and hands it over in GRANTOR_TEST_POSTGRES.
POSTGRES_MODULES := storage/postgres

.PHONY: test vet lint fmt tidy bench

test: vet
	@set -e; for m in $(MODULES); do \
		echo "== go test -race $$m"; \
		case " $(POSTGRES_MODULES) " in \
		*" $$m "*) (cd $$m && $(CURDIR)/scripts/with-postgres.sh $(GO) test -race -count=1 ./...) ;; \
		*) (cd $$m && $(GO) test -race -count=1 ./...) ;; \
		esac; \
	done

vet:
	@set -e; for m in $(MODULES); do \
		echo "== go vet $$m"; \
		(cd $$m && $(GO) vet ./...); \
	done

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
# heap per token, then the targets. It takes about 7 minutes; see
# `cd bench && go run ./cmd/benchtable -h` for a shorter run.
bench:
	cd bench && $(GO) run ./cmd/benchtable
