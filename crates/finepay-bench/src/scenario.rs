//! Scenarios: what one operation of the timed phase does. A new scenario (notification fan-out,
//! reconciliation) is one more `Scenario` implementation and one more `ScenarioKind` variant that
//! says which fixtures it needs; the drivers, the report and the script do not change.

use crate::fixtures::{Decision, Fixtures, SetupPlan, User};
use crate::http::{Conn, Req};
use async_trait::async_trait;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// How one operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every request of the operation got the success status it expects.
    Ok,
    /// The first request that failed answered this status.
    Status(u16),
    /// No answer: refused, reset or timed out.
    Transport,
}

/// A payment the server acknowledged with 201: what the crash check and the confirmation
/// sampling look for afterwards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ack {
    pub payment_id: String,
    pub user: usize,
    pub decision: usize,
}

pub struct OpResult {
    pub outcome: Outcome,
    pub ack: Option<Ack>,
}

impl OpResult {
    fn failed(outcome: Outcome) -> Self {
        Self { outcome, ack: None }
    }
}

/// One kind of operation. `op` is unique across all workers of a run, so a scenario can give each
/// operation its own decision.
#[async_trait]
pub trait Scenario: Send + Sync {
    fn name(&self) -> &'static str;
    /// How many operations the fixtures can serve; the run ends early when they are used up.
    fn capacity(&self) -> Option<u64>;
    async fn run(&self, conn: &mut Conn, op: u64) -> OpResult;
}

/// The scenarios the command line offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScenarioKind {
    /// `GET /healthz`: the HTTP ceiling of the server and the bench on this machine.
    Healthz,
    /// Look up decisions (a fixed pool, round robin).
    Lookup,
    /// Pay a fresh decision from the wallet balance.
    PayBalance,
    /// Pay a fresh decision with a linked sandbox card.
    PayCard,
    /// Look a fresh decision up, then pay the amount it showed from the balance.
    Mixed,
}

/// Sizes the setup phase.
#[derive(Clone, Copy, Debug)]
pub struct Sizing {
    pub users: usize,
    /// Decisions for the pay scenarios: one per operation at most.
    pub pay_decisions: usize,
    /// Decisions in the lookup pool.
    pub lookup_decisions: usize,
    pub connections: usize,
}

impl ScenarioKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Healthz => "healthz",
            Self::Lookup => "lookup",
            Self::PayBalance => "pay-balance",
            Self::PayCard => "pay-card",
            Self::Mixed => "mixed",
        }
    }

    pub fn pays(self) -> bool {
        matches!(self, Self::PayBalance | Self::PayCard | Self::Mixed)
    }

    pub fn setup_plan(self, s: Sizing) -> SetupPlan {
        let (users, decisions) = match self {
            Self::Healthz => (0, 0),
            Self::Lookup => (s.users, s.lookup_decisions),
            Self::PayBalance | Self::PayCard | Self::Mixed => (s.users, s.pay_decisions),
        };
        SetupPlan {
            users,
            decisions,
            cards: self == Self::PayCard,
            fund_balance: matches!(self, Self::PayBalance | Self::Mixed),
            // `mixed` measures the first lookup itself.
            look_up_first: matches!(self, Self::Lookup | Self::PayBalance | Self::PayCard),
            connections: s.connections,
        }
    }

    pub fn build(self, fixtures: Arc<Fixtures>) -> Arc<dyn Scenario> {
        match self {
            Self::Healthz => Arc::new(Healthz),
            Self::Lookup => Arc::new(Lookup { fixtures }),
            Self::PayBalance => Arc::new(Pay {
                fixtures,
                method: PayMethod::Balance,
            }),
            Self::PayCard => Arc::new(Pay {
                fixtures,
                method: PayMethod::Card,
            }),
            Self::Mixed => Arc::new(Mixed { fixtures }),
        }
    }
}

struct Healthz;

#[async_trait]
impl Scenario for Healthz {
    fn name(&self) -> &'static str {
        "healthz"
    }
    fn capacity(&self) -> Option<u64> {
        None
    }
    async fn run(&self, conn: &mut Conn, _op: u64) -> OpResult {
        match conn.send(Req::get("/healthz", None)).await {
            Ok(a) => OpResult::failed(expect(a.status, 200)),
            Err(_) => OpResult::failed(Outcome::Transport),
        }
    }
}

fn expect(status: u16, wanted: u16) -> Outcome {
    if status == wanted {
        Outcome::Ok
    } else {
        Outcome::Status(status)
    }
}

/// The user who acts for operation `op`: spread evenly so no one user's rows are hot.
fn user_of(fixtures: &Fixtures, op: u64) -> (usize, &User) {
    let i = (op % fixtures.users.len().max(1) as u64) as usize;
    (i, &fixtures.users[i])
}

fn lookup_path(d: &Decision) -> String {
    format!("/api/v1/penalty-decisions/{}", d.number)
}

struct Lookup {
    fixtures: Arc<Fixtures>,
}

#[async_trait]
impl Scenario for Lookup {
    fn name(&self) -> &'static str {
        "lookup"
    }
    fn capacity(&self) -> Option<u64> {
        (self.fixtures.decisions.is_empty() || self.fixtures.users.is_empty()).then_some(0)
    }
    async fn run(&self, conn: &mut Conn, op: u64) -> OpResult {
        let (_, user) = user_of(&self.fixtures, op);
        let d = &self.fixtures.decisions[(op % self.fixtures.decisions.len() as u64) as usize];
        match conn
            .send(Req::get(&lookup_path(d), Some(&user.token)))
            .await
        {
            Ok(a) => OpResult::failed(expect(a.status, 200)),
            Err(_) => OpResult::failed(Outcome::Transport),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum PayMethod {
    Balance,
    Card,
}

#[derive(Serialize)]
struct PayBody<'a> {
    decision_number: &'a str,
    amount: i64,
    confirm_plate: &'a str,
    method: MethodBody<'a>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum MethodBody<'a> {
    Balance,
    Card { card_id: &'a str },
}

#[derive(Deserialize)]
struct Created {
    id: String,
}

/// Pays decision `decision` for `user`; the idempotency key is the decision number, which is
/// unique per run, so a retried operation could never pay twice.
async fn pay(
    conn: &mut Conn,
    (user_index, user): (usize, &User),
    (decision, d): (usize, &Decision),
    amount: i64,
    method: PayMethod,
) -> OpResult {
    let method = match (method, user.card_id.as_deref()) {
        (PayMethod::Card, Some(card_id)) => MethodBody::Card { card_id },
        _ => MethodBody::Balance,
    };
    let body = PayBody {
        decision_number: &d.number,
        amount,
        confirm_plate: &d.plate,
        method,
    };
    let Ok(body) = serde_json::to_vec(&body) else {
        return OpResult::failed(Outcome::Transport);
    };
    let req =
        Req::post("/api/v1/payments", Some(&user.token), Bytes::from(body)).with_key(&d.number);
    let answer = match conn.send(req).await {
        Ok(a) => a,
        Err(_) => return OpResult::failed(Outcome::Transport),
    };
    if answer.status != 201 {
        return OpResult::failed(Outcome::Status(answer.status));
    }
    let ack = serde_json::from_slice::<Created>(&answer.body)
        .ok()
        .map(|c| Ack {
            payment_id: c.id,
            user: user_index,
            decision,
        });
    OpResult {
        outcome: Outcome::Ok,
        ack,
    }
}

fn pay_capacity(fixtures: &Fixtures) -> Option<u64> {
    let usable = if fixtures.users.is_empty() {
        0
    } else {
        fixtures.decisions.len()
    };
    Some(usable as u64)
}

fn decision_of(fixtures: &Fixtures, op: u64) -> Option<(usize, &Decision)> {
    let i = usize::try_from(op).ok()?;
    fixtures.decisions.get(i).map(|d| (i, d))
}

struct Pay {
    fixtures: Arc<Fixtures>,
    method: PayMethod,
}

#[async_trait]
impl Scenario for Pay {
    fn name(&self) -> &'static str {
        match self.method {
            PayMethod::Balance => "pay-balance",
            PayMethod::Card => "pay-card",
        }
    }
    fn capacity(&self) -> Option<u64> {
        pay_capacity(&self.fixtures)
    }
    async fn run(&self, conn: &mut Conn, op: u64) -> OpResult {
        let Some(decision) = decision_of(&self.fixtures, op) else {
            return OpResult::failed(Outcome::Transport);
        };
        let user = user_of(&self.fixtures, op);
        pay(conn, user, decision, decision.1.amount_fen, self.method).await
    }
}

#[derive(Deserialize)]
struct Shown {
    amount_due: i64,
}

struct Mixed {
    fixtures: Arc<Fixtures>,
}

#[async_trait]
impl Scenario for Mixed {
    fn name(&self) -> &'static str {
        "mixed"
    }
    fn capacity(&self) -> Option<u64> {
        pay_capacity(&self.fixtures)
    }
    /// What a citizen does: look the number up, then pay exactly the amount shown.
    async fn run(&self, conn: &mut Conn, op: u64) -> OpResult {
        let Some(decision) = decision_of(&self.fixtures, op) else {
            return OpResult::failed(Outcome::Transport);
        };
        let user = user_of(&self.fixtures, op);
        let answer = match conn
            .send(Req::get(&lookup_path(decision.1), Some(&user.1.token)))
            .await
        {
            Ok(a) => a,
            Err(_) => return OpResult::failed(Outcome::Transport),
        };
        if answer.status != 200 {
            return OpResult::failed(Outcome::Status(answer.status));
        }
        let Ok(shown) = serde_json::from_slice::<Shown>(&answer.body) else {
            return OpResult::failed(Outcome::Status(answer.status));
        };
        pay(conn, user, decision, shown.amount_due, PayMethod::Balance).await
    }
}
