# billrun: `make demo` runs the main job on the local stack, `make test` runs every test.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
ENV := . .local/env.sh &&
BILLCTL := bin/billctl

.PHONY: all build up down migrate demo test chaos scale unit bench bench-memory fuzz clean

all: build

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS := -X github.com/billrun/billrun/internal/config.version=$(VERSION)

build:
	go build -ldflags "$(LDFLAGS)" -o $(BILLCTL) ./starter
	go build -ldflags "$(LDFLAGS)" -o bin/billrun-worker ./worker

up:
	deploy/local/up.sh

down:
	deploy/local/down.sh

migrate: up build
	$(ENV) $(BILLCTL) migrate

# The main job on the local stack: a realistic month (internal/demo) from
# upload to issued invoices, notes and reconcile totals.
demo: migrate
	go build -o bin/demomonth ./deploy/local/demomonth
	$(ENV) deploy/local/demo.sh

# Temporal's static check that workflow code is deterministic.
WORKFLOWCHECK := go.temporal.io/sdk/contrib/tools/workflowcheck@v0.6.0

# Unit and integration tests against the real PostgreSQL, Temporal and S3
# that `make up` starts. Under CI=true a test whose service is missing fails.
test: up
	$(ENV) go vet ./...
	go run $(WORKFLOWCHECK) ./workflows/...
	$(ENV) go test -count=1 -timeout 20m ./...
	$(MAKE) fuzz FUZZTIME=50000x

# The month end under faults (docs/reliability.md): on services of its own,
# workers SIGKILLed, PostgreSQL crashed, S3 stopped for 30 s, two races run
# again and again; it must end as an undisturbed run does. `up` builds the
# Temporal and S3 binaries it starts.
chaos: up
	go test -tags chaos -count=1 -v -timeout 40m ./internal/chaos/

# A carrier's month through billctl at SCALE_CLIENTS clients of SCALE_CALLS
# calls (docs/scaling.md): billed, repriced, adjusted; a second month's bill
# run resolved by a rerate. Too long for `make test`.
SCALE_CLIENTS ?= 20000
SCALE_CALLS ?= 10
scale: up
	BILLRUN_SCALE_CLIENTS=$(SCALE_CLIENTS) BILLRUN_SCALE_CALLS=$(SCALE_CALLS) \
		go test -tags chaos,scale -count=1 -v -timeout 3h -run TestACarrierMonth ./internal/chaos/

# Every parser, the COPY text codec and the object keys under random input:
# FUZZTIME each (make test runs them briefly; their seeds are in the tests).
# A count, not a duration: a duration races Go's fuzz coordinator at its end
# and fails with "context deadline exceeded" on a loaded machine (go.dev/issue/75804).
FUZZTIME ?= 2000000x

unit:
	go test -short ./...

# The figures of docs/benchmarks.md. IngestMillion prints the plain-COPY
# floor, billrun's end-to-end ingestion time and their ratio.
bench: up
	$(ENV) go test -run '^$$' -bench . -benchtime 2s -cpu 1 ./internal/rating/
	$(ENV) go test -run '^$$' -bench . -benchtime 3x ./internal/postgres/
	$(ENV) go test -run '^$$' -bench 'IngestMillion|RerateMillion|IndexCost' -benchtime 1x -timeout 30m ./activities/
	$(ENV) go test -run '^$$' -bench IngestAsTheUserWaits -benchtime 1x -count 3 -timeout 30m ./activities/
	$(ENV) go test -run '^$$' -bench BillRunAsTheUserWaits -benchtime 1x -count 3 -timeout 30m ./activities/
	$(ENV) go test -run '^$$' -bench IngestDuplicates -benchtime 1x -count 3 -timeout 30m ./activities/
	$(ENV) go test -run '^$$' -bench SummaryMillion -benchtime 3x -timeout 30m ./activities/
	$(ENV) go test -run '^$$' -bench ReconcileMillion -benchtime 3x -count 3 -timeout 30m ./activities/
	$(ENV) go test -run '^$$' -bench BenchmarkInvoices -benchtime 1x -timeout 30m ./activities/
	$(ENV) go test -run '^$$' -bench ArchiveMillion -benchtime 1x -count 3 -timeout 30m ./activities/
	$(ENV) go test -run '^$$' -bench AMonthThroughTheWorker -benchtime 3x -count 3 -timeout 30m ./internal/workerapp/
	go test -run '^$$' -bench Render -benchtime 3s -cpu 1 ./internal/pdf/
	$(ENV) go test -run '^$$' -bench Put -benchtime 3000x ./internal/s3store/
	$(ENV) go test -run '^$$' -bench Pages -benchtime 20x -count 3 -timeout 30m ./internal/console/

# Peak memory while ingesting a generated 5 GB stream (a few minutes, ~10 GB of disk).
bench-memory: up
	$(ENV) BILLRUN_STREAM_GB=5 go test -run '^$$' -bench IngestStream -benchtime 1x -timeout 60m ./activities/

fuzz:
	go test -run '^$$' -fuzz FuzzReadRates -fuzztime $(FUZZTIME) ./internal/catalog/
	go test -run '^$$' -fuzz FuzzReadClients -fuzztime $(FUZZTIME) ./internal/catalog/
	go test -run '^$$' -fuzz FuzzReadMasterData -fuzztime $(FUZZTIME) ./internal/catalog/
	go test -run '^$$' -fuzz FuzzReader -fuzztime $(FUZZTIME) ./internal/cdr/
	go test -run '^$$' -fuzz FuzzCopyText -fuzztime $(FUZZTIME) ./internal/copytext/
	go test -run '^$$' -fuzz FuzzObjectKeysStayUnderTheirPrefix -fuzztime $(FUZZTIME) ./internal/billing/

clean:
	rm -rf bin
