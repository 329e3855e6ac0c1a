//! The incremental-extraction cursor and the window each pass reads.
//!
//! A pass reads the rows whose `(cursor column, key)` is past the saved cursor and whose cursor
//! column is before a *settled bound*. The bound is what makes the cursor safe:
//!
//! - `updated_at` is stamped when a statement runs, but the row becomes visible only when its
//!   transaction commits. A transaction still open when the pass starts may later commit rows
//!   stamped *earlier* than rows the pass already saw. So the bound is never later than the start
//!   of the oldest transaction still open: everything stamped before it is already committed.
//! - Two changes to one row inside the same millisecond carry the same stamp. So the bound is
//!   never later than the current millisecond, which may still receive changes: a row stamped
//!   now is read by the next pass, after its millisecond is over.
//!
//! Rows at or after the bound are left for the next pass, which starts from the last row read.
//! Nothing is skipped; nothing is read twice unless a pass fails before its cursor is saved,
//! and those duplicates are removed downstream (Silver keeps the latest version per key).

use serde::{Deserialize, Serialize};

/// The position of the last row a pass read: its cursor value and its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Cursor {
    /// The cursor column's value, in microseconds since the epoch (UTC).
    pub at: i64,
    /// The row's key, breaking ties between rows stamped in the same instant.
    pub key: i64,
}

/// The rows one pass reads: past `after` (if any) and stamped strictly before `before`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub after: Option<Cursor>,
    /// Microseconds since the epoch; rows stamped at or after it wait for the next pass.
    pub before: i64,
}

impl Window {
    /// The window after `previous`, given the database clock and the start of the oldest
    /// transaction still open (if the database reports it). `margin_micros` holds back a little
    /// more, for sources whose stamps do not come from the database clock.
    pub fn settled(previous: Option<Cursor>, db_now: i64, oldest_open: Option<i64>, margin_micros: i64) -> Self {
        let now_millisecond = db_now - db_now.rem_euclid(1000);
        let mut before = now_millisecond - margin_micros.max(0);
        if let Some(open) = oldest_open {
            before = before.min(open);
        }
        Self {
            after: previous,
            before,
        }
    }

    /// Whether a row stamped `at` with key `key` belongs to this window.
    pub fn contains(&self, at: i64, key: i64) -> bool {
        at < self.before && self.after.is_none_or(|c| Cursor { at, key } > c)
    }

    /// Whether the window can hold any row at all.
    pub fn is_empty(&self) -> bool {
        self.after.is_some_and(|c| c.at >= self.before)
    }
}

/// The cursor to save after a pass that read up to `last_read` (rows come in cursor order).
pub fn advance(previous: Option<Cursor>, last_read: Option<Cursor>) -> Option<Cursor> {
    previous.max(last_read)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = 1000;

    #[test]
    fn the_current_millisecond_is_left_for_the_next_pass() {
        let w = Window::settled(None, 10 * MS + 400, None, 0);
        assert_eq!(w.before, 10 * MS);
        assert!(w.contains(10 * MS - 1, 1));
        assert!(
            !w.contains(10 * MS, 1),
            "a row stamped in the current millisecond may change again within it"
        );
    }

    #[test]
    fn an_open_transaction_holds_the_bound_back() {
        // A transaction opened at 5 ms and not yet committed may commit rows stamped 5 ms or later.
        let w = Window::settled(None, 10 * MS, Some(5 * MS), 0);
        assert_eq!(w.before, 5 * MS);
        assert!(
            !w.contains(7 * MS, 1),
            "a row committed after the open one started must wait"
        );
    }

    #[test]
    fn the_margin_holds_back_further() {
        let w = Window::settled(None, 10 * MS, Some(9 * MS), 3 * MS);
        assert_eq!(w.before, 7 * MS);
    }

    #[test]
    fn equal_stamps_are_ordered_by_key() {
        let after = Cursor { at: 5 * MS, key: 10 };
        let w = Window::settled(Some(after), 10 * MS, None, 0);
        assert!(!w.contains(5 * MS, 10), "the last row read is not read again");
        assert!(!w.contains(5 * MS, 9));
        assert!(
            w.contains(5 * MS, 11),
            "a row with the same stamp and a later key is still read"
        );
        assert!(w.contains(5 * MS + 1, 1));
    }

    #[test]
    fn a_window_behind_its_cursor_is_empty_and_the_cursor_stays() {
        let after = Cursor { at: 8 * MS, key: 1 };
        let w = Window::settled(Some(after), 10 * MS, Some(6 * MS), 0);
        assert!(w.is_empty());
        assert_eq!(advance(Some(after), None), Some(after));
        assert_eq!(advance(None, None), None);
        let later = Cursor { at: 9 * MS, key: 2 };
        assert_eq!(advance(Some(after), Some(later)), Some(later));
    }

    /// Replays a source whose writes commit out of stamp order, with passes in between, and
    /// checks that every row version is read by some pass.
    #[test]
    fn no_committed_row_is_ever_skipped() {
        // (stamp, key, committed at) — key 1 is stamped first but commits last.
        let writes = [
            (MS, 1, 9 * MS),
            (2 * MS, 2, 3 * MS),
            (4 * MS, 3, 5 * MS),
            (4 * MS, 4, 5 * MS),
        ];
        let mut cursor = None;
        let mut read = Vec::new();
        for pass_at in [3 * MS + 500, 6 * MS, 10 * MS] {
            let visible: Vec<_> = writes.iter().filter(|w| w.2 <= pass_at).collect();
            let open = writes.iter().filter(|w| w.2 > pass_at).map(|w| w.0).min();
            let window = Window::settled(cursor, pass_at, open, 0);
            let mut batch: Vec<_> = visible.iter().filter(|w| window.contains(w.0, w.1)).collect();
            batch.sort_by_key(|w| (w.0, w.1));
            read.extend(batch.iter().map(|w| w.1));
            cursor = advance(cursor, batch.last().map(|w| Cursor { at: w.0, key: w.1 }));
        }
        read.sort();
        assert_eq!(read, [1, 2, 3, 4]);
    }
}
