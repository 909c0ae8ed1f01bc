//! The acknowledgement file: every payment that got a 201, with what is needed to read it back.
//! After a SIGKILL and a restart, `verify` reads each one again: a 201 is a promise that the
//! payment is on disk, so every one of them must still be there.
//!
//! Format: one payment per line, `payment_id<TAB>decision_number<TAB>bearer_token`. The tokens
//! belong to users the bench created on a throwaway data directory.

use crate::error::BenchError;
use crate::fixtures::{self, Fixtures};
use crate::http::{Req, Target};
use crate::scenario::Ack;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

const CONNECTIONS: usize = 8;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AckLine {
    pub payment_id: String,
    pub decision_number: String,
    pub token: String,
}

/// Writes `acks` to `path`, replacing it.
pub fn write(path: &Path, fixtures: &Fixtures, acks: &[Ack]) -> Result<(), BenchError> {
    let mut text = String::new();
    for a in acks {
        let token = fixtures
            .users
            .get(a.user)
            .map(|u| u.token.as_str())
            .unwrap_or("");
        let number = fixtures
            .decisions
            .get(a.decision)
            .map(|d| d.number.as_str())
            .unwrap_or("");
        let _ = writeln!(text, "{}\t{number}\t{token}", a.payment_id);
    }
    std::fs::write(path, text).map_err(|source| file_error(path, source))
}

pub fn read(path: &Path) -> Result<Vec<AckLine>, BenchError> {
    let text = std::fs::read_to_string(path).map_err(|source| file_error(path, source))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| parse_line(i + 1, l))
        .collect()
}

fn parse_line(line: usize, text: &str) -> Result<AckLine, BenchError> {
    let mut parts = text.split('\t');
    let mut field = |detail| {
        parts
            .next()
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .ok_or(BenchError::BadAckLine { line, detail })
    };
    Ok(AckLine {
        payment_id: field("no payment id")?,
        decision_number: field("no decision number")?,
        token: field("no token")?,
    })
}

fn file_error(path: &Path, source: std::io::Error) -> BenchError {
    BenchError::File {
        path: path.display().to_string(),
        source,
    }
}

/// What reading the acknowledged payments back found.
#[derive(Debug, Default)]
pub struct Verification {
    pub checked: usize,
    /// Payment ids that did not come back as the same payment.
    pub missing: Vec<String>,
    /// Payment status (`succeeded`, …) of those present.
    pub statuses: BTreeMap<String, u64>,
}

#[derive(Deserialize)]
struct PaymentView {
    id: String,
    status: String,
    decision_number: String,
}

/// Reads every acknowledged payment back from the server.
pub async fn verify(target: &Target, lines: Vec<AckLine>) -> Result<Verification, BenchError> {
    let lines = Arc::new(lines);
    let n = lines.len();
    let found = fixtures::parallel(target, CONNECTIONS, n, move |mut conn, i| {
        let lines = lines.clone();
        async move {
            let line = &lines[i];
            let path = format!("/api/v1/payments/{}", line.payment_id);
            let view = match conn.send(Req::get(&path, Some(&line.token))).await {
                Ok(a) if a.status == 200 => serde_json::from_slice::<PaymentView>(&a.body).ok(),
                Ok(_) => None,
                Err(e) => return (conn, Err(e)),
            };
            let same = view
                .filter(|v| v.id == line.payment_id && v.decision_number == line.decision_number);
            (conn, Ok((line.payment_id.clone(), same.map(|v| v.status))))
        }
    })
    .await?;
    let mut v = Verification {
        checked: found.len(),
        ..Verification::default()
    };
    for (id, status) in found {
        match status {
            Some(s) => *v.statuses.entry(s).or_insert(0) += 1,
            None => v.missing.push(id),
        }
    }
    Ok(v)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::fixtures::{Decision, User};

    #[test]
    fn an_acknowledgement_file_reads_back_what_was_written() {
        let fixtures = Fixtures {
            users: vec![User {
                token: "tok".into(),
                card_id: None,
            }],
            decisions: vec![Decision {
                number: "1100000000000015".into(),
                plate: "京A12345".into(),
                amount_fen: 20_000,
            }],
        };
        let acks = [Ack {
            payment_id: "pay_1".into(),
            user: 0,
            decision: 0,
        }];
        let dir = std::env::temp_dir().join(format!("finepay-bench-acks-{}", std::process::id()));
        write(&dir, &fixtures, &acks).unwrap();
        let lines = read(&dir).unwrap();
        std::fs::remove_file(&dir).unwrap();
        assert_eq!(
            lines,
            vec![AckLine {
                payment_id: "pay_1".into(),
                decision_number: "1100000000000015".into(),
                token: "tok".into()
            }]
        );
    }

    #[test]
    fn a_truncated_line_is_reported_with_its_number() {
        let err = parse_line(3, "pay_1\t1100000000000015").unwrap_err();
        assert!(matches!(
            err,
            BenchError::BadAckLine {
                line: 3,
                detail: "no token"
            }
        ));
    }
}
