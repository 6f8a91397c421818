# POP for Kubernetes. `make help` lists the targets.
SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

CONTROLLER_GEN := go tool controller-gen
POP_CACHE ?= $(HOME)/.cache/pop
export POP_CACHE
GOLANGCI_LINT_VERSION ?= v2.15.0
GOLANGCI_LINT := $(POP_CACHE)/bin/golangci-lint-$(GOLANGCI_LINT_VERSION)
IMG ?= pop-manager:dev

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*?##/ { printf "  %-18s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

.PHONY: generate
generate: ## Write deepcopy code for the API types.
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./api/...

.PHONY: manifests
manifests: ## Write CRDs into config/crd/bases and RBAC into config/rbac.
	$(CONTROLLER_GEN) crd rbac:roleName=manager-role webhook paths=./api/... paths=./controllers/... paths=./internal/... \
		output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac \
		output:webhook:artifacts:config=config/webhook
	hack/sync-chart.sh

GENERATED_SUM = find api config charts -type f | LC_ALL=C sort | xargs sha256sum | sha256sum

.PHONY: verify-generated
verify-generated: ## Fail when `make generate manifests` would change api/ or config/.
	@before=$$($(GENERATED_SUM)); \
	$(MAKE) --no-print-directory generate manifests >/dev/null; \
	after=$$($(GENERATED_SUM)); \
	if [ "$$before" != "$$after" ]; then git status --short -- api config charts; \
	  echo "generated files were stale: make generate manifests rewrote them"; exit 1; fi
	@echo "generated files are up to date"

.PHONY: fmt
fmt: ## gofmt the tree.
	gofmt -w $$(git ls-files '*.go')

.PHONY: vet
vet: ## go vet, and a gofmt check.
	@out=$$(gofmt -l $$(git ls-files '*.go')); test -z "$$out" || { echo "gofmt needed:"; echo "$$out"; exit 1; }
	go vet ./...

$(GOLANGCI_LINT):
	mkdir -p $(POP_CACHE)/bin
	GOBIN=$(POP_CACHE)/bin/golangci-tmp go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv $(POP_CACHE)/bin/golangci-tmp/golangci-lint $@ && rmdir $(POP_CACHE)/bin/golangci-tmp

.PHONY: lint
lint: vet $(GOLANGCI_LINT) ## golangci-lint with the project's config.
	$(GOLANGCI_LINT) run --allow-parallel-runners ./...

.PHONY: envtest
envtest: ## Provide kube-apiserver, etcd, kubectl for envtest (cached under $(POP_CACHE)).
	@hack/envtest-assets.sh >/dev/null

.PHONY: build
build: ## Build the manager into bin/.
	go build -o bin/manager ./cmd/manager

.PHONY: test
test: verify-generated lint test-integration test-chaos test-e2e ## Everything CI runs.

.PHONY: test-integration
test-integration: ## Unit tests and the envtest suites (the bridge's against the AWS emulators, the UI's in headless Chromium, both provided here).
	[ "$$POP_UI_BROWSER" = 0 ] || hack/chromium.sh >/dev/null
	hack/aws-emulators.sh start
	eval "$$(hack/aws-emulators.sh env)" && KUBEBUILDER_ASSETS="$$(hack/envtest-assets.sh)" \
		go test $$(go list ./... | grep -v /test/e2e) -count=1 -timeout 30m; \
		rc=$$?; hack/aws-emulators.sh stop; exit $$rc

.PHONY: test-e2e
test-e2e: ## End-to-end suite on real Pods (starts the local cluster; root; POP_E2E=0 skips it).
	KUBEBUILDER_ASSETS="$$(hack/envtest-assets.sh)" go test ./test/e2e/ -count=1 -timeout 20m -v

BENCH_SIZE ?= full
BENCH_OUT ?= $(if $(filter full,$(BENCH_SIZE)),docs/benchmarks,$(POP_CACHE)/bench-$(BENCH_SIZE))

.PHONY: bench
bench: ## End-to-end benchmark on envtest (BENCH_SIZE=small: ~200 Agendas, minutes; full: issue 13's sizes, ~1 h) into $(BENCH_OUT).
	KUBEBUILDER_ASSETS="$$(hack/envtest-assets.sh)" go run ./test/bench/cmd/popbench -size $(BENCH_SIZE) -out $(BENCH_OUT)

CHAOS_SIZE ?= full
CHAOS_OUT ?= $(if $(filter full,$(CHAOS_SIZE)),docs/reliability.md,$(POP_CACHE)/chaos-$(CHAOS_SIZE).md)
CHAOS_MODE ?= all

.PHONY: chaos
chaos: ## Fault injection on envtest: managers SIGKILLed, leaders killed, kube-apiserver restarted, webhook cut; then the AWS bridge with its own emulators restarted and SIGKILLed (CHAOS_MODE=core|bridge|all); the auditors' verdicts (CHAOS_SIZE=short: ~150 Agendas and 300 messages, minutes; full: issue 15's sizes) into $(CHAOS_OUT).
	KUBEBUILDER_ASSETS="$$(hack/envtest-assets.sh)" go run ./test/chaos/cmd/popchaos -mode $(CHAOS_MODE) -size $(CHAOS_SIZE) -out $(CHAOS_OUT)

.PHONY: test-chaos
test-chaos: ## The short chaos run, part of `make test`.
	$(MAKE) --no-print-directory chaos CHAOS_SIZE=short

.PHONY: run
run: manifests ## Install the CRDs into the current kube context and run the manager locally.
	kubectl apply --server-side -f config/crd/bases
	go run ./cmd/manager --metrics-bind-address=:8080 --health-probe-bind-address=:8081

.PHONY: demo
demo: ## The main job: a real Agenda end to end (embedded local cluster when no kube context answers).
	hack/demo.sh

.PHONY: aws-up
aws-up: ## Start the SQS and DynamoDB emulators on loopback (installed into ~/.cache/pop/aws).
	hack/aws-emulators.sh start
	@hack/aws-emulators.sh env

.PHONY: aws-down
aws-down: ## Stop the emulators.
	hack/aws-emulators.sh stop

.PHONY: cluster-up
cluster-up: ## Start the embedded single-node cluster (root); prints its kubeconfig.
	hack/local-cluster/up.sh

.PHONY: cluster-down
cluster-down: ## Stop the embedded cluster and undo its host side effects.
	hack/local-cluster/down.sh
