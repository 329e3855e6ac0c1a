# The lakehouse's everyday commands. `make` alone lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash

export CARGO_TARGET_DIR ?= $(HOME)/.cache/lakehouse/target
LAKEHOUSE := $(CARGO_TARGET_DIR)/debug/lakehouse
FUNCTIONS := seed-rds extract-rds write-bronze write-silver write-gold sync-catalog notify-slack maintain-tables
LAMBDA_DIR := $(CARGO_TARGET_DIR)/lambda-arm64
# cargo-lambda (with zig) lives in the tools virtualenv that scripts/python-env.sh makes.
TOOLS = $(shell scripts/python-env.sh)/bin

.PHONY: help
help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

.PHONY: demo
demo: ## Run the whole lakehouse on the embedded defaults (SQLite + ./.lakehouse) and show it
	cargo build --workspace --locked --bins
	$(LAKEHOUSE) demo

.PHONY: test
test: ## Run every test, starting the MariaDB they need
	scripts/test.sh

.PHONY: build
build: ## Build every function as an arm64 Lambda zip and print the sizes
	rustup target add aarch64-unknown-linux-gnu
	PATH="$(TOOLS):$$PATH" CARGO_PROFILE_RELEASE_STRIP=symbols \
		CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=$(CURDIR)/scripts/link-arm64.sh \
		cargo lambda build --release --arm64 --output-format zip --lambda-dir $(LAMBDA_DIR) $(addprefix -p ,$(FUNCTIONS))
	$(TOOLS)/python scripts/repack-zip.py $(foreach f,$(FUNCTIONS),$(LAMBDA_DIR)/$(f)/bootstrap.zip)

.PHONY: deploy
deploy: build ## Deploy with Terraform (needs AWS credentials): make deploy TFVARS=infra/examples/dev.tfvars
	terraform -chdir=infra init
	terraform -chdir=infra apply -var lambda_dist_dir=$(LAMBDA_DIR) $(if $(TFVARS),-var-file=$(abspath $(TFVARS)))

.PHONY: watch
watch: ## Serve the functions locally (cargo lambda watch) against the environment's lake
	PATH="$(TOOLS):$$PATH" cargo lambda watch

.PHONY: invoke
invoke: ## Invoke a function served by `make watch`: make invoke FN=write-gold EVENT=events/write-gold/scheduled.json
	@test -n "$(FN)" -a -n "$(EVENT)" || { echo "usage: make invoke FN=<function> EVENT=<file>"; exit 2; }
	PATH="$(TOOLS):$$PATH" cargo lambda invoke $(FN) --data-file $(EVENT)

.PHONY: bench
bench: ## Benchmarks against the Python delta-rs, PySpark and arrow-rs peers: make bench BENCH_SIZE=small|medium|large
	cargo build --release --locked -p lakehouse-cli -p lakehouse-bench -p extract-rds -p write-bronze -p write-silver -p write-gold
	bench/run.sh

.PHONY: fmt
fmt: ## Format the code
	cargo fmt --all

.PHONY: lint
lint: ## Check formatting, clippy's lints and the Terraform (checkov)
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	scripts/checkov.sh

.PHONY: services
services: ## Start the private MariaDB and the local AWS endpoint the tests use
	scripts/mariadb.sh start
	scripts/moto.sh start

.PHONY: clean
clean: ## Remove build output and the demo's ./.lakehouse folder
	cargo clean
	rm -rf .lakehouse
