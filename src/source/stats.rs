use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// Counters of one source. Cheap to update from concurrent tasks.
#[derive(Debug, Default)]
pub struct Stats {
    requests: AtomicU64,
    bytes: AtomicU64,
    round_trips: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StatsSnapshot {
    /// Range requests sent (after coalescing), plus metadata (HEAD) requests.
    pub requests: u64,
    /// Bytes received.
    pub bytes: u64,
    /// Sequential round trips: batches whose requests were in flight together.
    pub round_trips: u64,
}

/// Counters of several sources (or granules) added up; round trips are summed, not overlapped.
impl std::iter::Sum for StatsSnapshot {
    fn sum<I: Iterator<Item = StatsSnapshot>>(iter: I) -> StatsSnapshot {
        iter.fold(StatsSnapshot::default(), |a, b| StatsSnapshot {
            requests: a.requests + b.requests,
            bytes: a.bytes + b.bytes,
            round_trips: a.round_trips + b.round_trips,
        })
    }
}

impl Stats {
    pub(crate) fn add_round_trip(&self, requests: u64) {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        self.requests.fetch_add(requests, Ordering::Relaxed);
    }

    pub(crate) fn add_bytes(&self, n: u64) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            requests: self.requests.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            round_trips: self.round_trips.load(Ordering::Relaxed),
        }
    }
}
