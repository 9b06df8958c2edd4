# Every go command gets -tags explicitly: GOFLAGS=-tags=... is not honoured
# by every tool (go vet), and a different tag set recompiles SQLite.
TAGS := sqlite_preupdate_hook sqlite_math_functions
GO ?= go

# buf and its protoc plugins are installed with `go install`.
export PATH := $(shell $(GO) env GOPATH)/bin:$(PATH)

# Packages with concurrency worth the race detector's cost (it rebuilds
# SQLite once and slows tests several times over).
RACE_PKGS := ./log/ ./materializer/ ./frontend/... ./peer/ ./outbox/... ./antientropy/

# make bench runs each benchmark once to prove it works; for figures use
# e.g. make bench BENCH=Commit BENCHTIME=2s PKGS=./log/
BENCH ?= .
BENCHTIME ?= 1x
PKGS ?= ./...

.PHONY: all build run test vet race bench bench-sysbench bench-cluster bench-reference proto proto-check tidy lint clean faults

all: lint build test

build:
	$(GO) build -tags "$(TAGS)" -o bin/ ./cmd/...

# make run ARGS="--config config.toml"
run: build
	./bin/marmotd $(ARGS)

# The e2e package starts hundreds of real processes: past go test's default
# 10-minute limit on a 2-core machine.
test: vet
	$(GO) test -tags "$(TAGS)" -count=1 -timeout 40m ./...
	$(MAKE) race

vet:
	$(GO) vet -tags "$(TAGS)" ./...

race:
	$(GO) test -tags "$(TAGS)" -count=1 -race $(RACE_PKGS)

bench:
	$(GO) test -tags "$(TAGS)" -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) -benchmem $(PKGS)

proto:
	buf generate

# Regenerating must not change the committed code, and must not add files.
proto-check: proto
	git diff --exit-code -- proto/
	@untracked="$$(git ls-files --others --exclude-standard -- proto/)"; \
	if [ -n "$$untracked" ]; then \
		echo "buf generate made files that are not committed:"; echo "$$untracked"; exit 1; \
	fi

tidy:
	$(GO) mod tidy
	git diff --exit-code -- go.mod go.sum

# testdata may hold deliberately odd Go files.
lint:
	@unformatted="$$(find . -name '*.go' -not -path './.git/*' -not -path '*/testdata/*' -exec gofmt -l {} +)"; \
	if [ -n "$$unformatted" ]; then \
		echo "gofmt -w these files:"; echo "$$unformatted"; exit 1; \
	fi

clean:
	rm -rf bin/

# marmot vs MariaDB under sysbench (needs sysbench and mariadb-server).
bench-sysbench: build
	bench/sysbench.sh

# The published benchmark: 3 local nodes driven by marmotctl bench
# (bench/cluster.sh). CONSISTENCY=ONE make bench-cluster; flags for
# marmotctl bench in BENCH_ARGS, e.g. BENCH_ARGS="--duration 10s --json".
bench-cluster: build
	bench/cluster.sh $(BENCH_ARGS)

# The same workload against one MariaDB and one marmotd, no replication:
# the yardstick for bench-cluster's figures on this machine.
bench-reference: build
	bench/reference.sh $(BENCH_ARGS)

# The long form of the fault-injection suite (e2e/faults_suite_test.go,
# docs/testing.md): FAULTS_DURATION of kill -9, partitions, clock skew,
# pauses, stalled and slow fsyncs and CDC broker outages under load, then
# the history checks and the CDC audit. FAULTS_SEED replays a schedule;
# FAULTS_KINDS (e.g. stall-fsync,broker-down) limits the episodes;
# history.jsonl, summary.md and node logs go to FAULTS_OUT.
FAULTS_DURATION ?= 12m
FAULTS_OUT ?= $(or $(TMPDIR),/tmp)/marmot-faults
faults:
	MARMOT_FAULTS_DURATION=$(FAULTS_DURATION) MARMOT_FAULTS_OUT=$(FAULTS_OUT) $(if $(FAULTS_SEED),MARMOT_FAULTS_SEED=$(FAULTS_SEED)) $(if $(FAULTS_KINDS),MARMOT_FAULTS_KINDS=$(FAULTS_KINDS)) \
		$(GO) test -tags "$(TAGS)" -count=1 -timeout 60m -run '^TestFaults$$' -v ./e2e/
