# Webhook endpoint service. `make help` lists the targets.

GO          ?= go
STACK_NAME  ?= webhooks-dev
EVENT       ?= events/create-webhook.json
FUNCTION    ?= ApiFunction
# Fuzz budgets are counts of executions, not durations: Go 1.26's fuzz
# coordinator can fail at the end of a duration (golang/go#75804).
FUZZTIME    ?= 5000x
BUILD_FLAGS := -tags lambda.norpc -trimpath -ldflags='-s -w'
# Lambda runs the function on provided.al2023 / arm64.
LAMBDA_ENV  := CGO_ENABLED=0 GOOS=linux GOARCH=arm64

# NEED_SAM stops a target that needs the AWS SAM CLI, saying how to get it.
SAM_INSTALL := https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/install-sam-cli.html
NEED_SAM    = @command -v sam >/dev/null 2>&1 || { echo "make $@ needs the AWS SAM CLI (sam), which is not on PATH. Install it: $(SAM_INSTALL)" >&2; exit 1; }

.PHONY: help build build-ApiFunction build-JanitorFunction build-FanoutFunction build-DeliveryFunction build-SweeperFunction test bench fuzz lint run invoke deploy clean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

build: ## build the Lambda bootstraps (linux/arm64) into .build/{api,janitor,fanout,delivery,sweeper}/bootstrap
	$(LAMBDA_ENV) $(GO) build $(BUILD_FLAGS) -o .build/api/bootstrap ./functions/api
	$(LAMBDA_ENV) $(GO) build $(BUILD_FLAGS) -o .build/janitor/bootstrap ./functions/janitor
	$(LAMBDA_ENV) $(GO) build $(BUILD_FLAGS) -o .build/fanout/bootstrap ./functions/fanout
	$(LAMBDA_ENV) $(GO) build $(BUILD_FLAGS) -o .build/delivery/bootstrap ./functions/delivery
	$(LAMBDA_ENV) $(GO) build $(BUILD_FLAGS) -o .build/sweeper/bootstrap ./functions/sweeper

# Called by `sam build` (BuildMethod: makefile) with ARTIFACTS_DIR set.
build-ApiFunction:
	$(LAMBDA_ENV) $(GO) build $(BUILD_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/api

build-JanitorFunction:
	$(LAMBDA_ENV) $(GO) build $(BUILD_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/janitor

build-FanoutFunction:
	$(LAMBDA_ENV) $(GO) build $(BUILD_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/fanout

build-DeliveryFunction:
	$(LAMBDA_ENV) $(GO) build $(BUILD_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/delivery

build-SweeperFunction:
	$(LAMBDA_ENV) $(GO) build $(BUILD_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/sweeper

test: ## unit, integration (kumo + moto_server), template and runtime tests
	$(GO) test -race -count=1 ./...

bench: ## Go benchmarks; cold starts, sizes and memory under the Runtime Interface Emulator; a fresh delivery instance's first delivery part by part; janitor cost; delivery throughput, latency and AWS calls; isolation from a flooded endpoint; storage per event; the scale simulation (go run ./cmd/bench -only api|workers|firstdelivery|delivery|isolation|storage|janitor|scale runs one part)
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./internal/webhook ./internal/api
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./internal/delivery ./internal/sender
	$(GO) run ./cmd/bench

fuzz: ## run each fuzz target for FUZZTIME executions (default 5000x)
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeCreate$$' -fuzztime $(FUZZTIME) ./internal/api
	$(GO) test -run '^$$' -fuzz '^FuzzValidateURL$$' -fuzztime $(FUZZTIME) ./internal/webhook
	$(GO) test -run '^$$' -fuzz '^FuzzHandle$$' -fuzztime $(FUZZTIME) ./internal/api
	$(GO) test -run '^$$' -fuzz '^FuzzEvent$$' -fuzztime $(FUZZTIME) ./internal/api
	$(GO) test -run '^$$' -fuzz '^FuzzDeliveryRoutes$$' -fuzztime $(FUZZTIME) ./internal/api
	$(GO) test -run '^$$' -fuzz '^FuzzParseEventBridge$$' -fuzztime $(FUZZTIME) ./internal/delivery

lint: ## gofmt, go vet, staticcheck, cfn-lint and openapi-spec-validator
	@unformatted="$$(gofmt -l .)"; if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	cfn-lint template.yaml
	openapi-spec-validator api/openapi.yaml

# make run builds .build/devserver first. `go build -n` lists, without
# running them, the compiles the build cache lacks, so make run says how
# many packages it will compile, and only when there are some. `go build -v`
# names each package as it compiles it: BUILD_PROGRESS counts those lines,
# printing a line at each tenth with the time so far, and passes every
# other line (compile errors) through; it exits with go build's status,
# which the last line carries, flushing each line as it goes (mawk would
# hold them back). A Ctrl-C while building ends the recipe with a plain line
# rather than make's "Interrupt" error; the server runs from the same shell
# (exec), so a recipe stopped while building never starts it.
BUILD_PROGRESS := awk -v total="$$n" -v start="$$(date +%s)" ' \
	/^exit [0-9]+$$/ { status = $$2; next }; \
	/^[A-Za-z0-9._~+\/-]+$$/ { \
		done++; step = int(total / 10); if (step < 1) step = 1; \
		if (done % step == 0 && done <= total) { \
			"date +%s" | getline now; close("date +%s"); \
			printf "make run: compiled %d of %d packages (%ds)\n", done, total, now - start; fflush(); \
		} \
		next; \
	}; \
	{ print; fflush() }; \
	END { exit status }'

run: ## local stack: API on :3000, kumo on :4566 (or AWS_ENDPOINT_URL); data in .local/data (make clean empties it)
	@echo "make run: checking what .build/devserver needs (the first time, this downloads the Go modules) ..."
	@trap 'echo; echo "make run: stopped while building, as asked (Ctrl-C)"; exit 0' INT; \
	n=$$($(GO) build -n -o .build/devserver ./cmd/devserver 2>&1 | grep -c '/compile '); \
	if [ "$$n" -gt 50 ]; then \
		echo "make run: building .build/devserver: $$n packages to compile, which takes a minute or two ..."; \
	elif [ "$$n" -gt 0 ]; then \
		echo "make run: building .build/devserver: $$n packages to compile ..."; \
	fi; \
	{ $(GO) build -v -o .build/devserver ./cmd/devserver 2>&1; echo "exit $$?"; } | $(BUILD_PROGRESS) && \
	exec ./.build/devserver

invoke: ## sam build, then sam local invoke FUNCTION with EVENT against `make run` (needs sam and Docker)
	$(NEED_SAM)
	sam build
	AWS_ACCESS_KEY_ID=$${AWS_ACCESS_KEY_ID:-local} AWS_SECRET_ACCESS_KEY=$${AWS_SECRET_ACCESS_KEY:-local} \
		sam local invoke $(FUNCTION) --event $(EVENT) --env-vars events/env.json --docker-network host

deploy: ## sam build and sam deploy with samconfig.toml (STACK_NAME to override; needs sam)
	$(NEED_SAM)
	sam build
	sam deploy --stack-name $(STACK_NAME)

# DATA_LOCK is the file a running `make run` holds an flock on (and writes
# its pid to) while it uses .local/data (internal/dev/local/emulator).
DATA_LOCK := .local/data/in-use.lock

clean: ## remove build output and local emulator data (refused while make run uses .local/data)
	@busy=; if [ -f $(DATA_LOCK) ]; then \
		pid=$$(cat $(DATA_LOCK) 2>/dev/null); \
		if command -v flock >/dev/null 2>&1; then flock -n $(DATA_LOCK) -c : || busy=1; \
		else [ -n "$$pid" ] && kill -0 "$$pid" 2>/dev/null && busy=1; fi; \
		if [ -n "$$busy" ]; then \
			echo "make clean: make run (pid $$pid) is using .local/data, and would save it again as it stops. Stop it (Ctrl-C), then run make clean again." >&2; \
			exit 1; \
		fi; \
	fi
	rm -rf .build .aws-sam .local
