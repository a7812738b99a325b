# Pledge: `make run` for the demo, `make test` for every test. Development tools are installed at
# pinned versions into ./bin (git-ignored) with `go install`; Chromium comes from Debian's packages.

GO            ?= go
BIN           := $(CURDIR)/bin
STRIPE_MOCK   := github.com/stripe/stripe-mock@v0.203.0
MAILPIT       := github.com/axllent/mailpit@v1.33.1
# axe-core for the browser tests' accessibility checks, from npm at a pinned version.
AXE_CORE      := axe-core@4.14.1
AXE           := $(BIN)/axe/node_modules/axe-core/axe.min.js
DEMO_ADDR     ?= 127.0.0.1:8080
DEMO_PORT     := $(lastword $(subst :, ,$(DEMO_ADDR)))
MOCK_PORT     ?= 12111
MOCK_TLS_PORT ?= 12112
SMTP_PORT     ?= 1025
MAILBOX_PORT  ?= 8025

.PHONY: all build run test test-postgres vet tools chromium axe clean bench soak fuzz

all: build

build:
	$(GO) build -o $(BIN)/pledge ./cmd/pledge

tools: $(BIN)/stripe-mock $(BIN)/mailpit

$(BIN)/stripe-mock:
	GOBIN=$(BIN) $(GO) install $(STRIPE_MOCK)

$(BIN)/mailpit:
	GOBIN=$(BIN) $(GO) install $(MAILPIT)

# Debian's chromium for the browser tests: installed when running as root on Debian; elsewhere
# the browser tests explain how to get it and skip (they fail under CI=true).
chromium:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && [ -f /etc/debian_version ]; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "NOTE: chromium is not installed; browser tests will skip. Install it with: sudo apt-get install chromium"; \
	fi

# axe-core, injected into pages by the browser tests (testkit.Axe). npm comes from Debian's
# packages when running as root on Debian (as in CI); elsewhere the accessibility tests explain
# how to get it and skip (they fail under CI=true).
axe: $(AXE)

$(AXE):
	@if ! command -v npm >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && [ -f /etc/debian_version ]; then \
		echo "installing Debian's npm for axe-core"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; \
	fi
	@if command -v npm >/dev/null 2>&1; then \
		npm install --prefix $(BIN)/axe --no-audit --no-fund --loglevel=error $(AXE_CORE); \
	else \
		echo "NOTE: npm is not installed; the accessibility tests will skip. Install npm, then run: make axe"; \
	fi

# The demo: stripe-mock and mailpit on loopback, Pledge in demo mode with SQLite in ./var.
# Ctrl-C stops all three.
run: build tools
	@mkdir -p var && chmod 700 var
	@test -f var/data.key || $(BIN)/pledge keys new var/data.key
	@$(BIN)/stripe-mock -http-addr 127.0.0.1:$(MOCK_PORT) -https-addr 127.0.0.1:$(MOCK_TLS_PORT) >var/stripe-mock.log 2>&1 & \
	mock=$$!; \
	$(BIN)/mailpit --smtp 127.0.0.1:$(SMTP_PORT) --listen 127.0.0.1:$(MAILBOX_PORT) --smtp-disable-rdns >var/mailpit.log 2>&1 & \
	mailpit=$$!; \
	trap 'kill $$mock $$mailpit 2>/dev/null; wait $$mock $$mailpit 2>/dev/null' EXIT; \
	trap 'exit 0' INT TERM; \
	echo ""; \
	echo "  Pledge demo:     http://localhost:$(DEMO_PORT)   (sample article: http://localhost:$(DEMO_PORT)/demo/article)"; \
	echo "  Reminder e-mail: http://127.0.0.1:$(MAILBOX_PORT)   (mailpit's inbox)"; \
	echo "  stripe-mock on 127.0.0.1:$(MOCK_PORT). Ctrl-C stops everything."; \
	echo ""; \
	PLEDGE_DEMO=1 PLEDGE_ADDR=$(DEMO_ADDR) PLEDGE_DB=./var/pledge.db PLEDGE_DATA_KEY_FILE=./var/data.key \
	PLEDGE_BASE_URL=http://localhost:$(DEMO_PORT) \
	STRIPE_API_BASE=http://127.0.0.1:$(MOCK_PORT) \
	PLEDGE_SMTP_URL=smtp://127.0.0.1:$(SMTP_PORT) PLEDGE_MAIL_FROM="Pledge demo <support@localhost>" \
	$(BIN)/pledge serve

vet:
	$(GO) vet ./...

# go test runs packages -p at a time (the number of cores: 2 here), in the order given: both passes
# name their longest packages first (by go test -json's timings), so that none of them starts late
# and runs on alone at the end. The PostgreSQL pass runs 3 at a time: 2 at a time, its third long
# package (each takes 45 to 90 s) started only when the first had ended, and the pass takes about
# 30 s of CPU in the tests and 60 to 90 s in PostgreSQL, less than 2 cores over its 90 to 125 s.
# That is reasoned for a quiet machine: under a load of 5 to 11 from other work, 3 at a time did
# not measure faster (110 and 126 s, against 92 to 124 s for 2 at a time).
SLOW_PKGS    := ./cmd/pledge/ ./internal/server/ ./internal/soak/ ./internal/sqlite/ ./internal/abtest/

# The store-backed packages, and the end-to-end tests of cmd/pledge, run a second time on
# PostgreSQL (PLEDGE_TEST_STORE=postgres; each test gets a database of its own from
# PLEDGE_TEST_POSTGRES, else 127.0.0.1:5432 as user postgres). That pass runs without -race: the
# race detector has already run over the same Go code on SQLite, and only the SQL differs. It
# leaves out (go test -skip, so that it skips nothing) the tests about SQLite itself, listed in
# internal/testkit/sqlite_only.txt, and cmd/pledge's tests that do not exercise the store (the
# page's rendering, accessibility and amount rules in the browser, the binary's SIGTERM, the
# reload of PLEDGE_CONFIG): about 2 minutes of the first pass that the store does not change.
STORE_PKGS   := ./cmd/pledge/ ./internal/server/ ./internal/sqlite/ ./internal/billing/ ./internal/mail/
SQLITE_ONLY  := $(shell grep '^Test' internal/testkit/sqlite_only.txt | paste -sd'|' -)
NOT_STORE    := TestBrowserAccessibility|TestBrowserAmountRules|TestBrowserRightToLeftPrompt|TestBrowserMoscowTimesPrompt|TestBrowserMoscowTimesRussian|TestBrowserServerRefusalInCard|TestBinarySIGTERM|TestReloadKeepsTheOldConfigOnABrokenFile
PG_SKIP      := $(SQLITE_ONLY)|$(NOT_STORE)
PG_TEST      := PLEDGE_TEST_STORE=postgres $(GO) test -p 3 -count=1 -skip '^($(PG_SKIP))$$' $(STORE_PKGS)

# make test (and test-postgres) ends with how long it took, tool installs included, passed or not.
MAKE_START   := $(shell date +%s)
SAY_DURATION  = trap '{ code=$$?; set +x; } 2>/dev/null; s=$$(( $$(date +%s) - $(MAKE_START) )); if [ $$code = 0 ]; then r=passed; else r=FAILED; fi; \
                      echo "make $@: $$r in $$((s / 60))m$$((s % 60))s"' EXIT

test: tools chromium axe
	@$(SAY_DURATION); set -ex; \
	$(GO) vet ./...; \
	$(GO) test -race -count=1 $(SLOW_PKGS) ./...; \
	$(PG_TEST)

# Only the store-backed packages and the end-to-end tests, on PostgreSQL.
test-postgres: tools chromium axe
	@$(SAY_DURATION); set -ex; \
	$(PG_TEST)

# Benchmarks: the Go benchmarks of the hot functions (benchstat-friendly), then the load program,
# which starts stripe-mock and `pledge serve` on loopback and ends with one BENCH line per row.
# BENCHFLAGS passes flags to it, e.g. BENCHFLAGS='-rows prompt,remind -dur 2s'.
BENCHFLAGS ?=
bench: build tools
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./...
	$(GO) build -o $(BIN)/pledgebench ./cmd/pledgebench
	$(BIN)/pledgebench -pledge $(BIN)/pledge -stripe-mock $(BIN)/stripe-mock $(BENCHFLAGS)

# Reliability: the soak (200 clients), the kill -9 crash and the Stripe faults, for a minute
# (make test runs them for a few seconds).
SOAK_DURATION ?= 60s
soak: tools
	SOAK_DURATION=$(SOAK_DURATION) $(GO) test -count=1 -v -timeout 30m ./internal/soak

# Fuzzing: each target for FUZZTIME; the seed corpora in testdata/fuzz run in every make test.
# A count of executions (Nx), not a duration: with a duration, Go 1.26's fuzzing coordinator can
# report its own deadline as a failure ("context deadline exceeded", no crasher written; fixed
# in Go 1.27, go.dev/issue/75804). 200,000 runs each target for 4 to 20 s on a 2-core machine.
FUZZTIME ?= 200000x
FUZZ_TARGETS := ./internal/pledge:FuzzParseMinor ./internal/pledge:FuzzParseAmount ./internal/pledge:FuzzGiftChoice \
                ./internal/pledge:FuzzDeferRequest ./internal/server:FuzzWebhookHandler
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$fn ($$pkg) for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

clean:
	rm -rf $(BIN) var
