//! `seed-rds`: on a schedule, seeds the shop source or, once seeded, simulates a round of business
//! activity on it.

pub mod handler;

pub use handler::{Settings, function_handler};
