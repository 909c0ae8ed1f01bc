//! "Payment to authority confirmed" latency, by sampling: after the timed phase, a random sample of
//! acknowledged payments is read back until each is confirmed (or a deadline passes). The latency is
//! the server's own `authority_confirmed_at − created_at`, so reading after the run still measures
//! what happened under load, and the polling itself never loads the run.

use crate::error::BenchError;
use crate::fixtures::{self, Fixtures};
use crate::http::{Conn, Req, Target};
use crate::scenario::Ack;
use chrono::{DateTime, Utc};
use rand::seq::index::sample;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, Instant};

const POLL_EVERY: Duration = Duration::from_millis(200);
const CONNECTIONS: usize = 8;

/// What the sample showed; latencies in milliseconds of confirmed payments only.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ConfirmSummary {
    pub sampled: usize,
    pub confirmed: usize,
    pub rejected: usize,
    /// Still `pending` when the deadline passed, or unreadable.
    pub unconfirmed: usize,
    pub p50_ms: i64,
    pub p99_ms: i64,
    pub max_ms: i64,
}

enum Sampled {
    Confirmed(i64),
    Rejected,
    Unconfirmed,
}

/// Samples up to `count` of `acks` and waits at most `deadline` for them.
pub async fn measure(
    target: &Target,
    fixtures: Arc<Fixtures>,
    acks: &[Ack],
    count: usize,
    deadline: Duration,
) -> Result<ConfirmSummary, BenchError> {
    let picked: Vec<Ack> = sample(&mut rand::thread_rng(), acks.len(), count.min(acks.len()))
        .into_iter()
        .map(|i| acks[i].clone())
        .collect();
    let picked = Arc::new(picked);
    let until = Instant::now() + deadline;
    let n = picked.len();
    let results = fixtures::parallel(target, CONNECTIONS, n, move |mut conn, i| {
        let (picked, fixtures) = (picked.clone(), fixtures.clone());
        async move {
            let ack = &picked[i];
            let token = fixtures
                .users
                .get(ack.user)
                .map(|u| u.token.as_str())
                .unwrap_or("");
            let result = poll(&mut conn, token, &ack.payment_id, until).await;
            (conn, Ok(result))
        }
    })
    .await?;
    Ok(summarise(&results))
}

#[derive(Deserialize)]
struct PaymentView {
    authority_status: String,
    created_at: DateTime<Utc>,
    authority_confirmed_at: Option<DateTime<Utc>>,
}

async fn poll(conn: &mut Conn, token: &str, payment_id: &str, until: Instant) -> Sampled {
    let path = format!("/api/v1/payments/{payment_id}");
    loop {
        if let Ok(answer) = conn.send(Req::get(&path, Some(token))).await {
            if let Ok(p) = serde_json::from_slice::<PaymentView>(&answer.body) {
                match (p.authority_status.as_str(), p.authority_confirmed_at) {
                    ("confirmed", Some(at)) => {
                        return Sampled::Confirmed((at - p.created_at).num_milliseconds())
                    }
                    ("rejected", _) => return Sampled::Rejected,
                    _ => {}
                }
            }
        }
        if Instant::now() + POLL_EVERY > until {
            return Sampled::Unconfirmed;
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

fn summarise(results: &[Sampled]) -> ConfirmSummary {
    let mut ms: Vec<i64> = results
        .iter()
        .filter_map(|r| match r {
            Sampled::Confirmed(ms) => Some(*ms),
            _ => None,
        })
        .collect();
    ms.sort_unstable();
    let rejected = results
        .iter()
        .filter(|r| matches!(r, Sampled::Rejected))
        .count();
    ConfirmSummary {
        sampled: results.len(),
        confirmed: ms.len(),
        rejected,
        unconfirmed: results.len() - ms.len() - rejected,
        p50_ms: percentile(&ms, 50),
        p99_ms: percentile(&ms, 99),
        max_ms: ms.last().copied().unwrap_or(0),
    }
}

/// Nearest-rank percentile of sorted values; 0 for none.
fn percentile(sorted: &[i64], pct: usize) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (sorted.len() * pct).div_ceil(100).max(1);
    sorted[rank - 1]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles_of_a_hundred_values() {
        let v: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50), 50);
        assert_eq!(percentile(&v, 99), 99);
        assert_eq!(percentile(&[7], 99), 7);
        assert_eq!(percentile(&[], 50), 0);
    }

    #[test]
    fn pending_and_rejected_payments_are_not_counted_as_confirmed() {
        let s = summarise(&[
            Sampled::Confirmed(300),
            Sampled::Confirmed(100),
            Sampled::Rejected,
            Sampled::Unconfirmed,
        ]);
        assert_eq!(
            (s.sampled, s.confirmed, s.rejected, s.unconfirmed),
            (4, 2, 1, 1)
        );
        assert_eq!((s.p50_ms, s.max_ms), (100, 300));
    }
}
