//! The outside world of the simulation: a clock moved by hand, traffic authorities and a bank held
//! in memory. Each behaves by a *mode* the scenario sets (up, down, answers lost, …), never by a
//! draw of its own, so that the order in which the platform's tasks call them cannot change what
//! happens: a seed replays exactly.

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use finepay_authority::{
    Authority, AuthorityError, AuthorityEvent, DecisionRecord, EventKind, EventPage, NoticeOutcome,
    PaymentNotice, RecordStatus, ViolationRecord,
};
use finepay_bank::{Bank, BankError, CardLink, Charge, ChargeStatus};
use finepay_domain::{charges_on, Fen};
use finepay_store::Clock;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The simulated time; starts at a fixed instant so every run sees the same dates.
#[derive(Clone)]
pub struct SimClock(Arc<Mutex<DateTime<Utc>>>);

impl SimClock {
    pub fn new() -> SimClock {
        let start = DateTime::parse_from_rfc3339("2026-06-01T02:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        SimClock(Arc::new(Mutex::new(start)))
    }
    pub fn clock(&self) -> Clock {
        let at = self.0.clone();
        Clock::from_fn(move || *lock(&at))
    }
    pub fn advance(&self, by: Duration) {
        *lock(&self.0) += by;
    }
    pub fn now(&self) -> DateTime<Utc> {
        *lock(&self.0)
    }
}

/// How an authority answers right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthorityMode {
    Up,
    /// Every call fails as if the authority were unreachable.
    Down,
    /// Notices are recorded, but the answer is lost on the way back.
    AnswersLost,
}

#[derive(Clone, Debug)]
pub struct SimDecision {
    pub plate: String,
    pub owner: String,
    pub fine: i64,
    pub issued_on: NaiveDate,
    pub status: RecordStatus,
    pub payment_id: Option<String>,
    pub paid_amount: Option<i64>,
    pub paid_at: Option<DateTime<Utc>>,
}

pub struct AuthorityState {
    pub mode: AuthorityMode,
    pub decisions: BTreeMap<String, SimDecision>,
    pub events: Vec<(i64, EventKind, String)>,
    /// Every notice that made a decision paid: (decision, payment id, amount).
    pub accepted: Vec<(String, String, i64)>,
}

/// One city's traffic authority.
#[derive(Clone)]
pub struct SimAuthority {
    pub city: String,
    pub state: Arc<Mutex<AuthorityState>>,
    clock: SimClock,
}

impl SimAuthority {
    pub fn new(city: &str, clock: SimClock) -> SimAuthority {
        SimAuthority {
            city: city.to_string(),
            state: Arc::new(Mutex::new(AuthorityState {
                mode: AuthorityMode::Up,
                decisions: BTreeMap::new(),
                events: Vec::new(),
                accepted: Vec::new(),
            })),
            clock,
        }
    }

    pub fn set_mode(&self, mode: AuthorityMode) {
        lock(&self.state).mode = mode;
    }

    pub fn issue(&self, number: &str, d: SimDecision) {
        let mut s = lock(&self.state);
        s.decisions.insert(number.to_string(), d);
        let seq = s.events.len() as i64 + 1;
        s.events
            .push((seq, EventKind::DecisionIssued, number.to_string()));
    }

    /// The authority withdraws a decision (paid or not); its feed says so.
    pub fn revoke(&self, number: &str) -> bool {
        let mut s = lock(&self.state);
        let Some(d) = s.decisions.get_mut(number) else {
            return false;
        };
        if d.status == RecordStatus::Revoked {
            return false;
        }
        d.status = RecordStatus::Revoked;
        let seq = s.events.len() as i64 + 1;
        s.events
            .push((seq, EventKind::DecisionRevoked, number.to_string()));
        true
    }

    /// Someone paid at a bank counter: the decision is paid by a payment not of this platform.
    pub fn paid_at_counter(&self, number: &str) -> bool {
        let now = self.clock.now();
        let mut s = lock(&self.state);
        let Some(d) = s.decisions.get_mut(number) else {
            return false;
        };
        if d.status != RecordStatus::Unpaid {
            return false;
        }
        let amount = charges_on(Fen::from_fen(d.fine), d.issued_on, china(now))
            .amount_due
            .fen();
        d.status = RecordStatus::Paid;
        d.payment_id = Some(format!("counter_{number}"));
        d.paid_amount = Some(amount);
        d.paid_at = Some(now);
        let seq = s.events.len() as i64 + 1;
        s.events
            .push((seq, EventKind::DecisionPaid, number.to_string()));
        true
    }

    fn record(&self, number: &str, d: &SimDecision) -> DecisionRecord {
        let charges = charges_on(Fen::from_fen(d.fine), d.issued_on, china(self.clock.now()));
        DecisionRecord {
            number: number.to_string(),
            status: d.status,
            city_code: self.city.clone(),
            plate: d.plate.clone(),
            owner_name: d.owner.clone(),
            violation: ViolationRecord {
                code: "1625".into(),
                description: "Running a red light".into(),
                description_zh: "驾驶机动车违反道路交通信号灯通行".into(),
                occurred_at: DateTime::<Utc>::from_naive_utc_and_offset(
                    d.issued_on.and_hms_opt(1, 0, 0).unwrap_or_default(),
                    Utc,
                ) - Duration::days(3),
                location: "长安街".into(),
            },
            fine_fen: d.fine,
            points: 6,
            issued_on: d.issued_on,
            due_on: charges.due_on,
            late_fee_fen: charges.late_fee.fen(),
            amount_due_fen: charges.amount_due.fen(),
            payment_id: d.payment_id.clone(),
            paid_amount_fen: d.paid_amount,
            paid_at: d.paid_at,
        }
    }

    fn down(&self) -> Result<(), AuthorityError> {
        match lock(&self.state).mode {
            AuthorityMode::Down => Err(AuthorityError::Unavailable("simulated outage".into())),
            _ => Ok(()),
        }
    }
}

pub fn china(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&chrono_tz::Asia::Shanghai).date_naive()
}

#[async_trait]
impl Authority for SimAuthority {
    async fn lookup_decision(&self, number: &str) -> Result<DecisionRecord, AuthorityError> {
        self.down()?;
        let s = lock(&self.state);
        let d = s.decisions.get(number).ok_or(AuthorityError::NotFound)?;
        Ok(self.record(number, d))
    }

    async fn send_payment_notice(
        &self,
        notice: &PaymentNotice,
    ) -> Result<NoticeOutcome, AuthorityError> {
        self.down()?;
        let mut s = lock(&self.state);
        let lost = s.mode == AuthorityMode::AnswersLost;
        let rejected = |reason: &str| NoticeOutcome::Rejected {
            reason: reason.to_string(),
        };
        let outcome = match s.decisions.get_mut(&notice.decision_number) {
            None => rejected("not_found"),
            Some(d) if d.payment_id.as_deref() == Some(notice.payment_id.as_str()) => {
                NoticeOutcome::Duplicate
            }
            Some(d) if d.status == RecordStatus::Revoked => rejected("revoked"),
            Some(d) if d.status == RecordStatus::Paid => rejected("already_paid"),
            Some(d) => {
                let due = charges_on(Fen::from_fen(d.fine), d.issued_on, china(notice.paid_at))
                    .amount_due
                    .fen();
                if due != notice.amount_fen {
                    rejected("amount_mismatch")
                } else {
                    d.status = RecordStatus::Paid;
                    d.payment_id = Some(notice.payment_id.clone());
                    d.paid_amount = Some(notice.amount_fen);
                    d.paid_at = Some(notice.paid_at);
                    let seq = s.events.len() as i64 + 1;
                    s.events
                        .push((seq, EventKind::DecisionPaid, notice.decision_number.clone()));
                    s.accepted.push((
                        notice.decision_number.clone(),
                        notice.payment_id.clone(),
                        notice.amount_fen,
                    ));
                    NoticeOutcome::Accepted
                }
            }
        };
        if lost {
            return Err(AuthorityError::Unavailable("the answer was lost".into()));
        }
        Ok(outcome)
    }

    async fn events_after(
        &self,
        after: i64,
        limit: u32,
        _wait: std::time::Duration,
    ) -> Result<EventPage, AuthorityError> {
        self.down()?;
        let s = lock(&self.state);
        let events: Vec<AuthorityEvent> = s
            .events
            .iter()
            .filter(|(seq, _, _)| *seq > after)
            .take(limit as usize)
            .filter_map(|(seq, kind, number)| {
                let d = s.decisions.get(number)?;
                Some(AuthorityEvent {
                    seq: *seq,
                    kind: *kind,
                    city_code: self.city.clone(),
                    plate: d.plate.clone(),
                    violation_id: format!("vio_{number}"),
                    decision_number: Some(number.clone()),
                    decision: Some(Box::new(self.record(number, d))),
                    at: self.clock.now(),
                })
            })
            .collect();
        let next_after = events.last().map_or(after, |e| e.seq);
        Ok(EventPage {
            city_code: self.city.clone(),
            events,
            next_after,
            skipped: Vec::new(),
        })
    }
}

/// How the bank answers right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BankMode {
    Up,
    /// Refuses every charge.
    Declines,
    /// Unreachable: nothing reaches it.
    Down,
    /// Takes the money, and the answer is lost (a timeout).
    TakesThenTimesOut,
    /// Times out now and books the charge later (at the next [`SimBank::book_late`]).
    BooksLate,
}

#[derive(Clone, Debug)]
pub struct BankCharge {
    pub amount: i64,
    pub refunded: i64,
}

pub struct BankState {
    pub mode: BankMode,
    pub charges: BTreeMap<String, BankCharge>,
    pub declined: BTreeMap<String, i64>,
    pub refunds: BTreeMap<String, (String, i64)>,
    /// Charges the bank will book later (reference, amount).
    pub late: Vec<(String, i64)>,
}

#[derive(Clone)]
pub struct SimBank {
    pub state: Arc<Mutex<BankState>>,
}

impl SimBank {
    pub fn new() -> SimBank {
        SimBank {
            state: Arc::new(Mutex::new(BankState {
                mode: BankMode::Up,
                charges: BTreeMap::new(),
                declined: BTreeMap::new(),
                refunds: BTreeMap::new(),
                late: Vec::new(),
            })),
        }
    }

    pub fn set_mode(&self, mode: BankMode) {
        lock(&self.state).mode = mode;
    }

    /// The bank books the charges it owed an answer for.
    pub fn book_late(&self) {
        let mut s = lock(&self.state);
        for (reference, amount) in std::mem::take(&mut s.late) {
            s.charges.entry(reference).or_insert(BankCharge {
                amount,
                refunded: 0,
            });
        }
    }
}

#[async_trait]
impl Bank for SimBank {
    async fn verify_card(&self, number: &str, _holder_name: &str) -> Result<CardLink, BankError> {
        Ok(CardLink {
            bank: "SIM".into(),
            last4: number[number.len().saturating_sub(4)..].to_string(),
            card_token: format!("tok_{number}"),
        })
    }

    async fn charge(
        &self,
        reference: &str,
        _card_token: &str,
        amount_fen: i64,
    ) -> Result<Charge, BankError> {
        let mut s = lock(&self.state);
        if let Some(c) = s.charges.get(reference) {
            // Once per reference: a repeat answers the first charge.
            return Ok(Charge {
                reference: reference.to_string(),
                amount_fen: c.amount,
            });
        }
        match s.mode {
            BankMode::Up => {
                s.charges.insert(
                    reference.to_string(),
                    BankCharge {
                        amount: amount_fen,
                        refunded: 0,
                    },
                );
                Ok(Charge {
                    reference: reference.to_string(),
                    amount_fen,
                })
            }
            BankMode::Declines => {
                s.declined.insert(reference.to_string(), amount_fen);
                Err(BankError::Declined {
                    reason: "insufficient_funds".into(),
                })
            }
            BankMode::Down => Err(BankError::Unavailable("simulated outage".into())),
            BankMode::TakesThenTimesOut => {
                s.charges.insert(
                    reference.to_string(),
                    BankCharge {
                        amount: amount_fen,
                        refunded: 0,
                    },
                );
                Err(BankError::Timeout)
            }
            BankMode::BooksLate => {
                s.late.push((reference.to_string(), amount_fen));
                Err(BankError::Timeout)
            }
        }
    }

    async fn charge_status(&self, reference: &str) -> Result<Option<ChargeStatus>, BankError> {
        let s = lock(&self.state);
        if s.mode == BankMode::Down {
            return Err(BankError::Unavailable("simulated outage".into()));
        }
        if let Some(c) = s.charges.get(reference) {
            return Ok(Some(if c.refunded >= c.amount {
                ChargeStatus::Refunded {
                    amount_fen: c.refunded,
                }
            } else {
                ChargeStatus::Succeeded {
                    amount_fen: c.amount,
                }
            }));
        }
        Ok(s.declined
            .contains_key(reference)
            .then(|| ChargeStatus::Declined {
                reason: "insufficient_funds".into(),
            }))
    }

    async fn refund(
        &self,
        refund_reference: &str,
        charge_reference: &str,
        amount_fen: i64,
    ) -> Result<(), BankError> {
        let mut s = lock(&self.state);
        if s.mode == BankMode::Down {
            return Err(BankError::Unavailable("simulated outage".into()));
        }
        if s.refunds.contains_key(refund_reference) {
            return Ok(());
        }
        let Some(c) = s.charges.get_mut(charge_reference) else {
            return Err(BankError::Declined {
                reason: "unknown_charge".into(),
            });
        };
        if c.refunded + amount_fen > c.amount {
            return Err(BankError::Declined {
                reason: "exceeds_charge".into(),
            });
        }
        c.refunded += amount_fen;
        s.refunds.insert(
            refund_reference.to_string(),
            (charge_reference.to_string(), amount_fen),
        );
        Ok(())
    }
}
