# aioscope — see README.md. `make demo` and `make test` work on a fresh machine.
GO      ?= go
BIN     := bin/aioscope
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
PYTHONS := 3.13 3.14 3.15
FUZZTIME ?= 10s

.PHONY: all build demo test unit fuzz-smoke fuzz bench vet pythons tools clean vsix ext-test e2e

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/aioscope

## demo: build, provision a CPython if needed, run a bundled asyncio program and show its tasks
demo: build
	@scripts/demo.sh $(BIN)

## pythons: make CPython 3.13/3.14/3.15 available to the tests (downloaded once into .cache/)
pythons:
	@scripts/provision-python.sh $(PYTHONS) >/dev/null

## tools: strace, setpriv and the system CPython 3.11 for the robustness tests (apt-get as root when missing)
tools:
	@scripts/provision-tools.sh

## test: everything — provisioning, vet, unit and live tests, a short run of every fuzz target
test: pythons tools vet
	CI=$${CI:-1} $(GO) test -count=1 ./...
	@$(MAKE) --no-print-directory fuzz-smoke FUZZTIME=3s
	@$(MAKE) --no-print-directory ext-test
	@AIOSCOPE_E2E_BUDGET_SCALE=$${AIOSCOPE_E2E_BUDGET_SCALE:-3} $(MAKE) --no-print-directory e2e

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	$(GO) vet ./...

## fuzz-smoke / fuzz: run each fuzz target briefly / for longer (make fuzz FUZZTIME=10m); one result line per target
fuzz-smoke fuzz:
	@scripts/fuzz.sh $(FUZZTIME)

## bench: 10,000- and 100,000-task targets, aioscope vs CPython's own reader, 3.14 and 3.15; the Await Tree model
bench: build pythons
	@scripts/bench.sh $(BIN)
	@vscode-extension/scripts/npm-install.sh
	@cd vscode-extension && npm run --silent bench

## vsix: the VS Code extension, vscode-extension/aioscope-<version>.vsix, bundling a static linux-x64 aioscope
vsix:
	@vscode-extension/scripts/package.sh

## ext-test: the VS Code extension's strict type-check and unit tests (tree model, picker, configurations)
ext-test:
	@vscode-extension/scripts/npm-install.sh
	cd vscode-extension && npm run --silent typecheck && npm test --silent

## e2e: the extension in a real VS Code (code-server in headless Chromium) against CPython 3.14 and 3.15;
## installs what it needs on the first run (apt-get as root, npm); screenshots in vscode-extension/.e2e-artifacts/
e2e:
	@scripts/e2e.sh

clean:
	rm -rf bin
