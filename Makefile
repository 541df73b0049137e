# Grantor's build. `make test` is what CI runs: vet and race-enabled tests
# over every module of the repository.

GO      ?= go
# Every module of the repository, each with its own go.mod.
MODULES := . examples

.PHONY: test vet lint fmt tidy

test: vet
	@set -e; for m in $(MODULES); do \
		echo "== go test -race $$m"; \
		(cd $$m && $(GO) test -race -count=1 ./...); \
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
