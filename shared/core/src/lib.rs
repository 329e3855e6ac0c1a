//! The lakehouse engine, pure: pipeline definitions, Arrow schemas and type mapping, the
//! incremental cursor, and the Bronze/Silver/Gold transforms. Nothing here talks to a database,
//! an object store or AWS; the `lakehouse-io` crate does that and calls into this one.

pub mod bronze;
pub mod catalog;
pub mod cursor;
pub mod decimal;
pub mod error;
mod keys;
pub mod latest;
pub mod pipeline;
pub mod silver;
pub mod types;
pub mod upsert;

pub use error::{Error, Result};
pub use pipeline::{GoldSpec, Pipeline, Rule, TableSpec};
