//! The sandbox bank's books: linking, charging and refunding, each one SQLite transaction.
//!
//! These functions block (they run inside `spawn_blocking`) and know nothing of HTTP: they return
//! what happened, and the API layer turns it into an answer.

use std::time::Duration;

use chrono::Utc;
use rand::distributions::Alphanumeric;
use rand::Rng;
use rusqlite::{Connection, TransactionBehavior};

use super::cards::{self, CardNumber, ChargeBehaviour};
use super::store::{self, CardRow, ChargeOutcome, ChargeRow, NewCharge, RefundRow};
use super::SandboxConfig;

/// Length of the random part of a card token: 62^24 is far beyond guessing.
const TOKEN_RANDOM_CHARS: usize = 24;

/// The reason recorded when a charge names a token the bank never issued.
const UNKNOWN_CARD: &str = "unknown card";

pub(crate) enum LinkOutcome {
    Linked(CardRow),
    Refused { reason: &'static str },
}

/// Links a card, or returns its existing link: one card number has one token, whoever asks.
pub(crate) fn link_card(
    conn: &mut Connection,
    number: &CardNumber,
    holder_name: &str,
) -> rusqlite::Result<LinkOutcome> {
    if let Some(reason) = number.refused_at_linking() {
        return Ok(LinkOutcome::Refused { reason });
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if let Some(card) = store::find_card_by_number(&tx, number.as_str())? {
        return Ok(LinkOutcome::Linked(card));
    }
    let card = CardRow {
        token: new_token(),
        number: number.as_str().to_owned(),
        bank: number.bank_name().to_owned(),
    };
    store::insert_card(&tx, &card, holder_name)?;
    tx.commit()?;
    Ok(LinkOutcome::Linked(card))
}

fn new_token() -> String {
    let random: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(TOKEN_RANDOM_CHARS)
        .map(char::from)
        .collect();
    format!("ctok_{random}")
}

/// A charge request as the books see it (already checked for shape by the API layer).
pub(crate) struct ChargeRequest<'a> {
    pub reference: &'a str,
    pub card_token: &'a str,
    pub amount_fen: i64,
}

pub(crate) enum ChargeAttempt {
    /// The reference's outcome is on the books. `delay` holds the answer back after the commit
    /// (the slow and timeout test cards); a replay is never delayed.
    Recorded {
        charge: ChargeRow,
        replayed: bool,
        delay: Duration,
    },
    /// The reference was already used for another amount or card: nothing done.
    ReferenceReused,
    /// The "cannot connect" test card's first attempt: nothing recorded but the fault itself.
    ConnectFault,
}

/// What a new charge will do, before it is written.
enum Plan {
    Record {
        outcome: ChargeOutcome,
        delay: Duration,
    },
    ConnectFault,
}

/// Charges at most once per reference: a reference on the books answers with its recorded outcome.
pub(crate) fn charge(
    conn: &mut Connection,
    request: &ChargeRequest<'_>,
    config: &SandboxConfig,
) -> rusqlite::Result<ChargeAttempt> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if let Some(existing) = store::find_charge(&tx, request.reference)? {
        return Ok(replay(existing, request));
    }
    let card = store::find_card_by_token(&tx, request.card_token)?;
    let card_number = card.as_ref().map(|card| card.number.as_str());
    let (outcome, delay) = match plan(&tx, card_number, config)? {
        Plan::ConnectFault => {
            tx.commit()?;
            return Ok(ChargeAttempt::ConnectFault);
        }
        Plan::Record { outcome, delay } => (outcome, delay),
    };
    store::insert_charge(
        &tx,
        &NewCharge {
            reference: request.reference,
            card_token: request.card_token,
            card_number,
            amount_fen: request.amount_fen,
            outcome,
        },
    )?;
    let charge =
        store::find_charge(&tx, request.reference)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
    tx.commit()?;
    Ok(ChargeAttempt::Recorded {
        charge,
        replayed: false,
        delay,
    })
}

fn replay(existing: ChargeRow, request: &ChargeRequest<'_>) -> ChargeAttempt {
    if existing.amount_fen != request.amount_fen || existing.card_token != request.card_token {
        return ChargeAttempt::ReferenceReused;
    }
    ChargeAttempt::Recorded {
        charge: existing,
        replayed: true,
        delay: Duration::ZERO,
    }
}

/// Applies the card's test behaviour (SPEC §6). One-time faults are claimed in `tx`, so a fault
/// fires once per card even across restarts, and only if the charge that fired it commits.
fn plan(
    tx: &Connection,
    card_number: Option<&str>,
    config: &SandboxConfig,
) -> rusqlite::Result<Plan> {
    let approve = |delay| Plan::Record {
        outcome: ChargeOutcome::Succeeded,
        delay,
    };
    let Some(number) = card_number else {
        return Ok(declined(UNKNOWN_CARD));
    };
    Ok(match cards::charge_behaviour(number) {
        ChargeBehaviour::Approve => approve(Duration::ZERO),
        ChargeBehaviour::Decline { reason } => declined(reason),
        ChargeBehaviour::Slow => approve(config.slow_delay),
        ChargeBehaviour::TimeOutAfterFirstCharge => {
            let first = store::claim_fault(tx, number)?;
            approve(if first {
                config.timeout_delay
            } else {
                Duration::ZERO
            })
        }
        ChargeBehaviour::ConnectFailsFirst => {
            if store::claim_fault(tx, number)? {
                Plan::ConnectFault
            } else {
                approve(Duration::ZERO)
            }
        }
    })
}

fn declined(reason: &str) -> Plan {
    Plan::Record {
        outcome: ChargeOutcome::Declined {
            reason: reason.to_owned(),
        },
        delay: Duration::ZERO,
    }
}

/// Every charge attempt on the card behind `card_token`; `None` for a token never issued.
pub(crate) fn card_charges(
    conn: &Connection,
    card_token: &str,
) -> rusqlite::Result<Option<Vec<ChargeRow>>> {
    match store::find_card_by_token(conn, card_token)? {
        Some(card) => store::charges_on_card(conn, &card.number).map(Some),
        None => Ok(None),
    }
}

pub(crate) struct RefundRequest<'a> {
    pub refund_reference: &'a str,
    pub charge_reference: &'a str,
    pub amount_fen: i64,
}

pub(crate) enum RefundAttempt {
    Recorded {
        refund: RefundRow,
        replayed: bool,
    },
    ReferenceReused,
    ChargeNotFound,
    /// The charge was declined: there is nothing to give back.
    ChargeNotRefundable,
    ExceedsCharge {
        refundable_fen: i64,
    },
}

/// Refunds at most once per refund reference, never more in all than the charge took.
pub(crate) fn refund(
    conn: &mut Connection,
    request: &RefundRequest<'_>,
) -> rusqlite::Result<RefundAttempt> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if let Some(existing) = store::find_refund(&tx, request.refund_reference)? {
        let same = existing.charge_reference == request.charge_reference
            && existing.amount_fen == request.amount_fen;
        return Ok(if same {
            RefundAttempt::Recorded {
                refund: existing,
                replayed: true,
            }
        } else {
            RefundAttempt::ReferenceReused
        });
    }
    let Some(charge) = store::find_charge(&tx, request.charge_reference)? else {
        return Ok(RefundAttempt::ChargeNotFound);
    };
    if charge.outcome != ChargeOutcome::Succeeded {
        return Ok(RefundAttempt::ChargeNotRefundable);
    }
    let refundable_fen = charge.amount_fen - charge.refunded_fen;
    if request.amount_fen > refundable_fen {
        return Ok(RefundAttempt::ExceedsCharge { refundable_fen });
    }
    let refund = RefundRow {
        refund_reference: request.refund_reference.to_owned(),
        charge_reference: request.charge_reference.to_owned(),
        amount_fen: request.amount_fen,
        created_at: Utc::now(),
    };
    store::insert_refund(&tx, &refund)?;
    tx.commit()?;
    Ok(RefundAttempt::Recorded {
        refund,
        replayed: false,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap (house rule)
mod tests {
    use super::*;

    fn open_books() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = store::open(&dir.path().join("books.db")).unwrap();
        (dir, conn)
    }

    fn charge_of(attempt: ChargeAttempt) -> (ChargeRow, Duration) {
        match attempt {
            ChargeAttempt::Recorded { charge, delay, .. } => (charge, delay),
            ChargeAttempt::ReferenceReused => panic!("reference reused"),
            ChargeAttempt::ConnectFault => panic!("connect fault"),
        }
    }

    fn request<'a>(reference: &'a str, card_token: &'a str) -> ChargeRequest<'a> {
        ChargeRequest {
            reference,
            card_token,
            amount_fen: 100,
        }
    }

    #[test]
    fn a_card_reported_lost_after_linking_declines_at_charging() {
        let (_dir, mut conn) = open_books();
        let card = CardRow {
            token: "ctok_lost".to_owned(),
            number: cards::REPORTED_LOST.to_owned(),
            bank: "ICBC".to_owned(),
        };
        store::insert_card(&conn, &card, "Zhang San").unwrap();
        let attempt = charge(
            &mut conn,
            &request("ref-l", "ctok_lost"),
            &SandboxConfig::default(),
        );
        let (charge, _) = charge_of(attempt.unwrap());
        let reason = "card reported lost".to_owned();
        assert_eq!(charge.outcome, ChargeOutcome::Declined { reason });
    }

    #[test]
    fn only_the_timeout_cards_first_charge_is_held_back_and_it_is_on_the_books_first() {
        let (_dir, mut conn) = open_books();
        let number = CardNumber::parse(cards::TIMES_OUT_AFTER_FIRST_CHARGE).unwrap();
        let LinkOutcome::Linked(card) = link_card(&mut conn, &number, "Zhang San").unwrap() else {
            panic!("not linked");
        };
        let config = SandboxConfig::default();
        let (first, delay) =
            charge_of(charge(&mut conn, &request("ref-1", &card.token), &config).unwrap());
        assert_eq!(
            (first.outcome, delay),
            (ChargeOutcome::Succeeded, config.timeout_delay)
        );
        assert!(store::find_charge(&conn, "ref-1").unwrap().is_some());
        let (_, delay) =
            charge_of(charge(&mut conn, &request("ref-2", &card.token), &config).unwrap());
        assert_eq!(delay, Duration::ZERO);
    }
}
