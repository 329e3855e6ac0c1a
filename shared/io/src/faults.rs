//! Crash points: the places where a stage can stop with part of its work done (files written but
//! not committed, a commit made but not acknowledged). The fault-injection tests arm them to prove
//! that a rerun repairs everything. Without the `failpoints` feature, [`crash`] is an empty
//! function the compiler removes.

/// Every crash point, in pipeline order.
pub const POINTS: [&str; 8] = [
    "extract-before-cursor",
    "ingest-before-commit",
    "ingest-after-commit",
    "refine-before-commit",
    "refine-between-commits",
    "refine-after-commit",
    "gold-before-commit",
    "gold-after-commit",
];

/// Fails with [`crate::Error::Injected`] when `point` is armed.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn crash(_point: &'static str) -> crate::error::Result<()> {
    Ok(())
}

#[cfg(feature = "failpoints")]
pub use armed::{arm, crash, disarm};

#[cfg(feature = "failpoints")]
mod armed {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use crate::error::{Error, Result};

    /// Armed points, with how many more times each fires.
    static ARMED: Mutex<BTreeMap<&'static str, u32>> = Mutex::new(BTreeMap::new());

    /// Makes `point` fail the next `times` times it is reached.
    pub fn arm(point: &'static str, times: u32) {
        ARMED.lock().unwrap_or_else(|e| e.into_inner()).insert(point, times);
    }

    /// Disarms every point.
    pub fn disarm() {
        ARMED.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    pub fn crash(point: &'static str) -> Result<()> {
        let mut armed = ARMED.lock().unwrap_or_else(|e| e.into_inner());
        match armed.get_mut(point) {
            Some(left) if *left > 0 => {
                *left -= 1;
                tracing::warn!(point, "crash injected");
                Err(Error::Injected(point))
            }
            _ => Ok(()),
        }
    }
}
