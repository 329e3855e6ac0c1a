//! End-to-end tests: the whole pipeline against a real MariaDB (and SQLite), with every Silver
//! and Gold table compared row by row against the contract's reference views.

// Test code: a failed expectation is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod catalog_query;
mod contract;
mod idempotence;
mod independent_reader;
mod lambda_chain;
mod local_runtime;
mod scenarios;
