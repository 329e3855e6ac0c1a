//! CPU-bound work spread over the runtime's threads: Parquet decoding and encoding in an upsert,
//! the Silver tables and the Gold queries side by side.

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;

use crate::error::{Error, Result};

/// The cores this process may use.
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs each piece of work in a task of its own, at most `width` at once (the next starts as
/// soon as any ends), and returns the results in the order of `work`. After an error no further
/// piece starts, and the first error is returned once the pieces already started have ended.
/// (The work comes boxed and `'static`, and no closure is held across an await, so that
/// callers' futures stay `Send`.)
pub(crate) async fn in_parallel<T: Send + 'static>(
    work: Vec<BoxFuture<'static, Result<T>>>,
    width: usize,
) -> Result<Vec<T>> {
    let mut results: Vec<Option<Result<T>>> = std::iter::repeat_with(|| None).take(work.len()).collect();
    let mut running = FuturesUnordered::new();
    let mut failed = false;
    for (index, piece) in work.into_iter().enumerate() {
        if running.len() >= width.max(1) {
            failed |= finished(running.next().await, &mut results);
        }
        if failed {
            break;
        }
        let task = tokio::spawn(piece);
        running.push(async move { (index, task.await) });
    }
    while let Some(outcome) = running.next().await {
        finished(Some(outcome), &mut results);
    }
    results.into_iter().flatten().collect()
}

/// Groups pieces of work into rounds, run one after another, by their sizes: the largest piece
/// sets the bound, and each round holds pieces whose sizes add up to at most it (first fit,
/// largest first). For work whose memory grows with its size, running a round side by side then
/// needs about as much as the largest piece alone. Gives indices into `sizes`, in ascending
/// order within each round.
pub(crate) fn rounds(sizes: &[u64]) -> Vec<Vec<usize>> {
    let bound = sizes.iter().copied().max().unwrap_or(0);
    let mut largest_first: Vec<(usize, u64)> = sizes.iter().copied().enumerate().collect();
    largest_first.sort_by_key(|&(_, size)| std::cmp::Reverse(size));
    let mut rounds: Vec<(u64, Vec<usize>)> = Vec::new();
    for (piece, size) in largest_first {
        match rounds
            .iter_mut()
            .find(|(filled, _)| filled.saturating_add(size) <= bound)
        {
            Some((filled, pieces)) => {
                *filled += size;
                pieces.push(piece);
            }
            None => rounds.push((size, vec![piece])),
        }
    }
    rounds
        .into_iter()
        .map(|(_, mut pieces)| {
            pieces.sort_unstable();
            pieces
        })
        .collect()
}

type Outcome<T> = (usize, std::result::Result<Result<T>, tokio::task::JoinError>);

/// Files a finished piece's result in its place; true if it failed.
fn finished<T>(outcome: Option<Outcome<T>>, results: &mut [Option<Result<T>>]) -> bool {
    let Some((index, joined)) = outcome else {
        return false;
    };
    let result = joined.unwrap_or_else(|e| {
        Err(Error::State {
            path: "worker task".into(),
            reason: e.to_string(),
        })
    });
    let failed = result.is_err();
    if let Some(slot) = results.get_mut(index) {
        *slot = Some(result);
    }
    failed
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use futures::FutureExt;
    use tokio::sync::Notify;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_next_piece_starts_when_any_ends_and_results_keep_their_order() {
        // The first piece can only end after the third has run: waiting for the pieces in order
        // before starting the next would never end.
        let third_ran = Arc::new(Notify::new());
        let first = {
            let third_ran = third_ran.clone();
            async move {
                third_ran.notified().await;
                Ok(1)
            }
            .boxed()
        };
        let second = async { Ok(2) }.boxed();
        let third = async move {
            third_ran.notify_one();
            Ok(3)
        }
        .boxed();
        let all = tokio::time::timeout(Duration::from_secs(30), in_parallel(vec![first, second, third], 2)).await;
        assert_eq!(all.unwrap().unwrap(), [1, 2, 3]);
    }

    #[test]
    fn rounds_hold_at_most_the_largest_piece_together() {
        assert_eq!(rounds(&[18, 30, 11, 1]), [vec![1], vec![0, 2, 3]]);
        assert_eq!(rounds(&[5, 5, 5]), [vec![0], vec![1], vec![2]]);
        assert_eq!(rounds(&[10, 4, 3, 3, 6]), [vec![0], vec![1, 4], vec![2, 3]]);
        assert_eq!(rounds(&[0, 0]), [vec![0, 1]]);
        assert!(rounds(&[]).is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_error_waits_for_the_started_pieces_and_stops_the_rest() {
        let ended = Arc::new(AtomicUsize::new(0));
        let piece = |fails: bool, millis: u64| {
            let ended = ended.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(millis)).await;
                ended.fetch_add(1, Ordering::SeqCst);
                if fails {
                    return Err(Error::NotFound("the failing piece".into()));
                }
                Ok(())
            }
            .boxed()
        };
        let work = vec![piece(false, 200), piece(true, 0), piece(false, 0), piece(false, 0)];
        let failed = in_parallel(work, 2).await.err().unwrap();
        assert_eq!(failed.to_string(), "the failing piece");
        // The slow first piece ended too; of the two after the failure, none started.
        assert_eq!(ended.load(Ordering::SeqCst), 2);
    }
}
