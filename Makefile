# The lakehouse's everyday commands. `make` alone lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash

export CARGO_TARGET_DIR ?= $(HOME)/.cache/lakehouse/target
LAKEHOUSE := $(CARGO_TARGET_DIR)/debug/lakehouse

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

.PHONY: fmt
fmt: ## Format the code
	cargo fmt --all

.PHONY: lint
lint: ## Check formatting and clippy's lints
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

.PHONY: services
services: ## Start the private MariaDB the tests use and print its URL
	scripts/mariadb.sh start

.PHONY: clean
clean: ## Remove build output and the demo's ./.lakehouse folder
	cargo clean
	rm -rf .lakehouse
