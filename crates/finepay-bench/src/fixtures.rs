//! The setup phase: users, cards, balances, vehicles and decisions created through the public API
//! and the sandbox control API before the clock starts, so the timed phase measures only the
//! scenario. Every payment gets its own decision (one decision can be paid once).

use crate::error::BenchError;
use crate::http::{Conn, Req, Target};
use bytes::Bytes;
use chrono::{Days, NaiveDate};
use rand::Rng;
use serde::Deserialize;
use serde_json::{json, Value};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;

/// The sandbox bank card that always approves (SPEC §6).
pub const APPROVING_CARD: &str = "6222020000000000018";
/// Beijing: every sandbox city fines code 1625 the same 200 yuan.
const CITY_CODE: &str = "110000";
/// Running a red light: 6 points, 200 yuan (SPEC §2).
const VIOLATION_CODE: &str = "1625";
/// Spreads decisions over vehicles so no single plate or licence grows without bound.
const DECISIONS_PER_VEHICLE: usize = 500;
const SETUP_TIMEOUT: Duration = Duration::from_secs(30);
const PASSWORD: &str = "finepay-bench";
/// Users are signed up two at a time: each sign-up and sign-in is an Argon2 hash, CPU- and
/// memory-hard, and two cores hash no faster with more in flight.
const SIGN_UP_CONNECTIONS: usize = 2;

/// What a scenario needs before the timed phase.
#[derive(Clone, Debug)]
pub struct SetupPlan {
    pub users: usize,
    pub decisions: usize,
    pub cards: bool,
    /// Whether each user's wallet must hold enough to pay its share of the decisions.
    pub fund_balance: bool,
    /// Whether each decision is looked up once before the clock starts, as a payer does before
    /// paying (the payment states the amount shown); the timed phase then measures what follows.
    pub look_up_first: bool,
    pub connections: usize,
}

/// A signed-in user of the bench.
#[derive(Clone, Debug)]
pub struct User {
    pub token: String,
    pub card_id: Option<String>,
}

/// A penalty decision ready to be looked up or paid.
#[derive(Clone, Debug)]
pub struct Decision {
    pub number: String,
    pub plate: String,
    pub amount_fen: i64,
}

/// Everything the timed phase uses.
#[derive(Debug, Default)]
pub struct Fixtures {
    pub users: Vec<User>,
    pub decisions: Vec<Decision>,
}

/// Creates the fixtures of `plan` on the server at `target`.
pub async fn create(
    target: &Target,
    sandbox_token: &str,
    plan: &SetupPlan,
) -> Result<Fixtures, BenchError> {
    if plan.users == 0 {
        return Err(BenchError::Invalid("at least one user is needed"));
    }
    let run_id = rand::thread_rng().gen_range(0..90_000u64);
    let plates = create_vehicles(target, sandbox_token, plan, run_id).await?;
    let decisions = create_decisions(target, sandbox_token, plan, Arc::new(plates)).await?;
    let total_fen: i64 = decisions.iter().map(|d| d.amount_fen).sum();
    let users = create_users(target, plan, run_id, wallet_share(plan, total_fen)).await?;
    let fixtures = Fixtures { users, decisions };
    if plan.look_up_first {
        look_up_once(target, plan, &fixtures).await?;
    }
    Ok(fixtures)
}

/// Each user's top-up: twice its share of all decisions, so uneven spreading never runs dry.
fn wallet_share(plan: &SetupPlan, total_fen: i64) -> Option<i64> {
    let users = i64::try_from(plan.users).unwrap_or(i64::MAX);
    plan.fund_balance
        .then(|| (total_fen / users + 20_000).saturating_mul(2))
}

async fn create_vehicles(
    target: &Target,
    sandbox_token: &str,
    plan: &SetupPlan,
    run_id: u64,
) -> Result<Vec<String>, BenchError> {
    let count = plan.decisions.div_ceil(DECISIONS_PER_VEHICLE).max(1);
    let token: Arc<str> = sandbox_token.into();
    parallel(target, plan.connections, count, move |mut conn, i| {
        let token = token.clone();
        async move {
            let result = register_vehicle(&mut conn, &token, run_id, i).await;
            (conn, result)
        }
    })
    .await
}

async fn register_vehicle(
    conn: &mut Conn,
    sandbox_token: &str,
    run_id: u64,
    i: usize,
) -> Result<String, BenchError> {
    let serial = (run_id + i as u64) % 100_000;
    let plate = format!("京A{serial:05}");
    let body = json!({
        "plate": plate,
        "vin": format!("LSVAM4187C{serial:07}"),
        "owner_name": "王五",
        "owner_id_number": id_number(serial),
        "city_code": CITY_CODE,
    });
    // 409: the plate is already registered (a reused server); it can still get violations.
    let req = Req::post("/sandbox/v1/vehicles", Some(sandbox_token), to_bytes(&body));
    call(conn, "registering a vehicle", req, &[201, 409]).await?;
    Ok(plate)
}

#[derive(Deserialize)]
struct Recorded {
    id: String,
}

#[derive(Deserialize)]
struct Issued {
    decision_number: String,
    fine: i64,
}

async fn create_decisions(
    target: &Target,
    sandbox_token: &str,
    plan: &SetupPlan,
    plates: Arc<Vec<String>>,
) -> Result<Vec<Decision>, BenchError> {
    let token: Arc<str> = sandbox_token.into();
    parallel(
        target,
        plan.connections,
        plan.decisions,
        move |mut conn, i| {
            let (token, plates) = (token.clone(), plates.clone());
            async move {
                let plate = &plates[(i / DECISIONS_PER_VEHICLE) % plates.len()];
                let result = issue_decision(&mut conn, &token, plate).await;
                (conn, result)
            }
        },
    )
    .await
}

async fn issue_decision(
    conn: &mut Conn,
    sandbox_token: &str,
    plate: &str,
) -> Result<Decision, BenchError> {
    let violation = json!({
        "city_code": CITY_CODE,
        "plate": plate,
        "code": VIOLATION_CODE,
        "occurred_at": "2026-01-05T08:30:00+08:00",
        "location": "长安街与东单路口",
    });
    let req = Req::post(
        "/sandbox/v1/violations",
        Some(sandbox_token),
        to_bytes(&violation),
    );
    let recorded: Recorded = parse(
        "recording a violation",
        call(conn, "recording a violation", req, &[201]).await?,
    )?;
    let path = format!("/sandbox/v1/violations/{}/decision", recorded.id);
    let req = Req::post(&path, Some(sandbox_token), Bytes::from_static(b"{}"));
    let issued: Issued = parse(
        "issuing a decision",
        call(conn, "issuing a decision", req, &[201]).await?,
    )?;
    Ok(Decision {
        number: issued.decision_number,
        plate: plate.to_string(),
        amount_fen: issued.fine,
    })
}

/// Every decision looked up once, by the user who will act on it in the timed phase's first pass.
async fn look_up_once(
    target: &Target,
    plan: &SetupPlan,
    fixtures: &Fixtures,
) -> Result<(), BenchError> {
    let tokens: Arc<Vec<String>> =
        Arc::new(fixtures.users.iter().map(|u| u.token.clone()).collect());
    let numbers: Arc<Vec<String>> = Arc::new(
        fixtures
            .decisions
            .iter()
            .map(|d| d.number.clone())
            .collect(),
    );
    let count = numbers.len();
    parallel(target, plan.connections, count, move |mut conn, i| {
        let (tokens, numbers) = (tokens.clone(), numbers.clone());
        async move {
            let path = format!("/api/v1/penalty-decisions/{}", numbers[i]);
            let req = Req::get(&path, Some(&tokens[i % tokens.len()]));
            let result = call(&mut conn, "looking a decision up", req, &[200])
                .await
                .map(|_| ());
            (conn, result)
        }
    })
    .await?;
    Ok(())
}

async fn create_users(
    target: &Target,
    plan: &SetupPlan,
    run_id: u64,
    top_up_fen: Option<i64>,
) -> Result<Vec<User>, BenchError> {
    let with_card = plan.cards || top_up_fen.is_some();
    parallel(
        target,
        plan.connections.min(SIGN_UP_CONNECTIONS),
        plan.users,
        move |mut conn, i| async move {
            let phone = format!("13{:09}", run_id * 10_000 + i as u64);
            let result = sign_up(&mut conn, &phone, i as u64, with_card, top_up_fen).await;
            (conn, result)
        },
    )
    .await
}

#[derive(Deserialize)]
struct Session {
    token: String,
}

#[derive(Deserialize)]
struct Card {
    id: String,
}

async fn sign_up(
    conn: &mut Conn,
    phone: &str,
    serial: u64,
    with_card: bool,
    top_up_fen: Option<i64>,
) -> Result<User, BenchError> {
    let user = json!({"phone": phone, "password": PASSWORD, "name": "李四", "id_number": id_number(serial)});
    call(
        conn,
        "creating a user",
        Req::post("/api/v1/users", None, to_bytes(&user)),
        &[201],
    )
    .await?;
    let login = json!({"phone": phone, "password": PASSWORD});
    let session: Session = parse(
        "signing in",
        call(
            conn,
            "signing in",
            Req::post("/api/v1/sessions", None, to_bytes(&login)),
            &[201],
        )
        .await?,
    )?;
    let token = session.token;
    if !with_card {
        return Ok(User {
            token,
            card_id: None,
        });
    }
    let card = json!({"number": APPROVING_CARD, "holder_name": "李四"});
    let card: Card = parse(
        "linking a card",
        call(
            conn,
            "linking a card",
            Req::post("/api/v1/cards", Some(&token), to_bytes(&card)),
            &[201],
        )
        .await?,
    )?;
    if let Some(amount) = top_up_fen {
        let body = json!({"card_id": card.id, "amount": amount});
        let req = Req::post("/api/v1/wallet/top-ups", Some(&token), to_bytes(&body))
            .with_key("bench-fund");
        call(conn, "topping up", req, &[201]).await?;
    }
    Ok(User {
        token,
        card_id: Some(card.id),
    })
}

/// A valid resident ID number (GB 11643) for `serial`: born on a different day every 1,000.
pub fn id_number(serial: u64) -> String {
    let base = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    let born = base
        .checked_add_days(Days::new(serial / 1000 % 15_000))
        .unwrap_or(base);
    let body = format!("110105{}{:03}", born.format("%Y%m%d"), serial % 1000);
    let check = check_character(&body);
    format!("{body}{check}")
}

/// ISO 7064 MOD 11-2 over the first 17 digits.
fn check_character(body: &str) -> char {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
        .sum();
    char::from(b"10X98765432"[(sum % 11) as usize])
}

pub fn to_bytes(value: &Value) -> Bytes {
    Bytes::from(value.to_string())
}

/// One setup request; any status outside `expect` stops the setup with the server's answer.
pub async fn call(
    conn: &mut Conn,
    what: &'static str,
    req: Req<'_>,
    expect: &[u16],
) -> Result<Bytes, BenchError> {
    let answer = conn.send(req).await?;
    if expect.contains(&answer.status) {
        return Ok(answer.body);
    }
    Err(BenchError::Unexpected {
        what,
        status: answer.status,
        body: String::from_utf8_lossy(&answer.body).into_owned(),
    })
}

pub fn parse<T: serde::de::DeserializeOwned>(
    what: &'static str,
    body: Bytes,
) -> Result<T, BenchError> {
    serde_json::from_slice(&body).map_err(|source| BenchError::BadAnswer { what, source })
}

/// Runs `step(conn, i)` for every `i` in `0..count` over `connections` connections; results in
/// index order. The connection is handed in and back so each task keeps one keep-alive socket.
pub async fn parallel<T, F, Fut>(
    target: &Target,
    connections: usize,
    count: usize,
    step: F,
) -> Result<Vec<T>, BenchError>
where
    T: Send + 'static,
    F: Fn(Conn, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = (Conn, Result<T, BenchError>)> + Send,
{
    let step = Arc::new(step);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = JoinSet::new();
    for _ in 0..connections.clamp(1, count.max(1)) {
        let (step, next) = (step.clone(), next.clone());
        let mut conn = Conn::new(target.clone(), SETUP_TIMEOUT);
        tasks.spawn(async move {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return Ok::<_, BenchError>(done);
                }
                let (back, result) = step(conn, i).await;
                conn = back;
                done.push((i, result?));
            }
        });
    }
    let mut all = Vec::with_capacity(count);
    while let Some(joined) = tasks.join_next().await {
        let done = joined.map_err(|_| BenchError::Invalid("a setup task panicked"))??;
        all.extend(done);
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, t)| t).collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn generated_id_numbers_carry_the_gb11643_check_character() {
        // The standard's published example.
        assert_eq!(check_character("11010519491231002"), 'X');
        let id = id_number(123_456);
        assert_eq!(id.chars().last(), Some(check_character(&id[..17])));
        assert_eq!(id.len(), 18);
        assert!(id.starts_with("110105"));
        assert_ne!(id_number(1), id_number(1001));
    }

    #[test]
    fn each_user_is_funded_for_twice_its_share() {
        let plan = SetupPlan {
            users: 10,
            decisions: 100,
            cards: false,
            fund_balance: true,
            look_up_first: false,
            connections: 1,
        };
        assert_eq!(
            wallet_share(&plan, 100 * 20_000),
            Some((200_000 + 20_000) * 2)
        );
        let unfunded = SetupPlan {
            fund_balance: false,
            ..plan
        };
        assert_eq!(wallet_share(&unfunded, 1), None);
    }
}
