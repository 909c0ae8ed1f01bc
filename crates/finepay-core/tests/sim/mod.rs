//! The deterministic simulator: the real platform (its use cases, its writer, a real SQLite file)
//! with the clock, the authorities and the bank behind its adapters driven by a seeded random
//! walk. A lane is one platform and one seed; it runs scenarios one after another, each a fresh
//! penalty decision paid, repaid, refunded and revoked through outages, and checks the invariants
//! after every step. Nothing runs in the background: the dispatcher's, the resolver's and the
//! feed followers' rounds are steps of the walk too, so a seed replays exactly.

pub mod world;

use chrono::Duration;
use finepay_authority::RecordStatus;
use finepay_core::events::EventBus;
use finepay_core::{
    Authorities, AuthorityRoute, CoreError, IdempotencyKey, LookupLimits, NumberRule, Outcome,
    PayMethod, PayRequest, Platform, PlatformConfig, Registration,
};
use finepay_domain::{charges_on, City, CityCode, Fen};
use finepay_receipts::ReceiptSigner;
use finepay_store::{params, Db, DbLocation, WriterConfig};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use world::{AuthorityMode, BankMode, SimAuthority, SimBank, SimClock, SimDecision};

/// A bug put in on purpose, to show that the invariants catch it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sabotage {
    /// After the first successful payment of this scenario, its outbox notice is marked delivered
    /// without being sent (a dispatcher that loses a notice): the authority is never told.
    ForgetNotice { scenario: usize },
    /// One fen is added to a wallet balance outside any ledger transaction.
    SkewWallet { scenario: usize },
}

pub struct Options {
    pub seed: u64,
    pub sabotage: Option<Sabotage>,
    /// `None`: a SQLite file in a temporary directory; `Some(url)`: that PostgreSQL database.
    pub database: Option<String>,
}

/// What a lane did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stats {
    pub scenarios: usize,
    pub steps: usize,
    pub payments_succeeded: usize,
    pub refunds: usize,
    pub top_ups: usize,
    pub repayments: usize,
    pub outages: usize,
}

/// A broken invariant, with where it broke and how to replay it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub seed: u64,
    pub scenario: usize,
    pub step: usize,
    pub invariant: &'static str,
    pub detail: String,
    /// The scenario's steps up to the failure.
    pub trace: Vec<String>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "simulation seed {} broke `{}` in scenario {} at step {}: {}",
            self.seed, self.invariant, self.scenario, self.step, self.detail
        )?;
        writeln!(
            f,
            "replay: FINEPAY_SIM_SEED={} FINEPAY_SIM_SCENARIOS={} cargo test -p finepay-core --test simulation replay -- --nocapture",
            self.seed,
            self.scenario + 1
        )?;
        writeln!(f, "the scenario's steps:")?;
        for (i, s) in self.trace.iter().enumerate() {
            writeln!(f, "  {i:>2}. {s}")?;
        }
        Ok(())
    }
}

const CITIES: [(&str, &str, &str, &str); 2] = [
    ("110000", "Beijing", "北京", "京"),
    ("310000", "Shanghai", "上海", "沪"),
];
const CARD: &str = "6222020000000000018";
const USERS: [&str; 3] = ["张伟", "王芳", "李娜"];

fn temp_dir() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .expect("a temporary directory")
}

/// A SQLite database with the users registered and their cards linked, made once per process
/// (`VACUUM INTO` writes a consistent copy while the platform that made it is still open).
fn template() -> &'static std::path::Path {
    static TEMPLATE: std::sync::OnceLock<(tempfile::TempDir, std::path::PathBuf)> =
        std::sync::OnceLock::new();
    let (_, path) = TEMPLATE.get_or_init(|| {
        std::thread::spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                let made = temp_dir();
                let location = DbLocation::Sqlite(made.path().join("made.db"));
                let mut lane = Lane::assemble(&location, SimClock::new(), made).await;
                lane.register_users().await;
                let dir = temp_dir();
                let path = dir.path().join("template.db");
                let into = format!("VACUUM INTO '{}'", path.display());
                lane.platform
                    .db()
                    .read(move |c| c.batch(&into))
                    .await
                    .expect("the template database is written");
                (dir, path)
            })
        })
        .join()
        .expect("the template is made")
    });
    path
}

struct SimUser {
    id: String,
    card_id: String,
}

/// One platform, one seed.
pub struct Lane {
    seed: u64,
    platform: Platform,
    clock: SimClock,
    authorities: Vec<SimAuthority>,
    bank: SimBank,
    users: Vec<SimUser>,
    stats: Stats,
    sabotage: Option<Sabotage>,
    _dir: tempfile::TempDir,
}

/// The state of the scenario being walked.
struct Scenario {
    index: usize,
    rng: StdRng,
    user: usize,
    city: usize,
    number: String,
    plate: String,
    /// The answer stored under each key, once one is known to be (outcome, body).
    keys: BTreeMap<String, (Outcome, String)>,
    keys_made: usize,
    /// The last request sent: (kind, key, amount, choice of method or source), for a retry.
    last: Option<(&'static str, String, i64, u8)>,
    trace: Vec<String>,
    step: usize,
    sabotaged: bool,
}

impl Lane {
    pub async fn open(opts: &Options) -> Lane {
        // On Linux the database goes to memory-backed /dev/shm: the walk tests logic, not disks
        // (the crash rounds test durability), and ten thousand scenarios commit a lot.
        let dir = temp_dir();
        let clock = SimClock::new();
        let (location, registered) = match &opts.database {
            Some(url) => (DbLocation::Postgres(url.clone()), false),
            None => {
                // Hashing three passwords (Argon2) costs more than fifty scenarios: every lane
                // starts from a copy of one database that has the users and their cards.
                let path = dir.path().join("sim.db");
                std::fs::copy(template(), &path).expect("the template database copies");
                (DbLocation::Sqlite(path), true)
            }
        };
        let mut lane = Lane::assemble(&location, clock, dir).await;
        lane.seed = opts.seed;
        lane.sabotage = opts.sabotage;
        if registered {
            lane.users = lane.registered_users().await;
        } else {
            lane.register_users().await;
        }
        lane
    }

    async fn assemble(location: &DbLocation, clock: SimClock, dir: tempfile::TempDir) -> Lane {
        let db = Db::open(location, WriterConfig::default())
            .expect("the simulation database opens")
            .with_clock(clock.clock());
        let authorities: Vec<SimAuthority> = CITIES
            .iter()
            .map(|(code, ..)| SimAuthority::new(code, clock.clone()))
            .collect();
        let routes = CITIES
            .iter()
            .zip(&authorities)
            .map(|((code, ..), a)| AuthorityRoute {
                prefix: code[..4].to_string(),
                city: CityCode::parse(code).expect("a city code"),
                rule: NumberRule::SixteenDigitsLuhn,
                client: Arc::new(a.clone()),
            })
            .collect();
        let cities = CITIES
            .iter()
            .map(|(code, name, zh, plate)| City {
                code: CityCode::parse(code).expect("a city code"),
                name: name.to_string(),
                name_zh: zh.to_string(),
                plate_prefixes: vec![plate.to_string()],
                payee: format!("{zh}市公安局交通管理局"),
                payee_en: format!("{name} Traffic Management Bureau"),
            })
            .collect();
        let bank = SimBank::new();
        let unlimited = LookupLimits {
            per_user_per_minute: u32::MAX,
            per_client_per_minute: u32::MAX,
            failed_lookup_cost: 1,
        };
        let config = PlatformConfig {
            lookup_limits: unlimited,
            binding_limits: unlimited,
            sign_in_limits: unlimited,
            registration_limits: unlimited,
            ..PlatformConfig::default()
        };
        let platform = Platform::new(
            db,
            Authorities::new(routes, cities),
            Arc::new(bank.clone()),
            ReceiptSigner::generate(),
            Arc::new(EventBus::in_process()),
            config,
        );
        Lane {
            seed: 0,
            platform,
            clock,
            authorities,
            bank,
            users: Vec::new(),
            stats: Stats::default(),
            sabotage: None,
            _dir: dir,
        }
    }

    /// Three real-name users, each with a linked card.
    async fn register_users(&mut self) {
        for (i, name) in USERS.iter().enumerate() {
            let user = self
                .platform
                .accounts()
                .register(
                    Registration {
                        phone: format!("1380000{i:04}"),
                        password: "simulated-password".into(),
                        name: name.to_string(),
                        id_number: id_number(i as u32),
                    },
                    "sim",
                )
                .await
                .expect("a simulated user registers");
            let card = self
                .platform
                .accounts()
                .link_card(&user.id, CARD, name)
                .await
                .expect("a simulated card links");
            self.users.push(SimUser {
                id: user.id,
                card_id: card.id,
            });
        }
    }

    /// The users (and cards) already in the database, in the order they registered.
    async fn registered_users(&self) -> Vec<SimUser> {
        self.platform
            .db()
            .read(|c| {
                let rows = c.query(
                    "SELECT u.id AS id, c.id AS card FROM users u JOIN cards c ON c.user_id = u.id
                     ORDER BY u.phone",
                    &[],
                )?;
                rows.iter()
                    .map(|r| {
                        Ok(SimUser {
                            id: r.text("id")?,
                            card_id: r.text("card")?,
                        })
                    })
                    .collect::<Result<Vec<_>, finepay_store::StoreError>>()
            })
            .await
            .expect("the template's users read")
    }

    /// Runs `scenarios` scenarios; the first broken invariant stops the lane.
    pub async fn run(mut self, scenarios: usize) -> Result<Stats, Failure> {
        for index in 0..scenarios {
            self.scenario(index).await?;
            self.stats.scenarios += 1;
        }
        Ok(self.stats)
    }

    async fn scenario(&mut self, index: usize) -> Result<(), Failure> {
        let mut rng = StdRng::seed_from_u64(mix(self.seed, index as u64));
        let user = rng.gen_range(0..self.users.len());
        let city = rng.gen_range(0..CITIES.len());
        let number = decision_number(CITIES[city].0, index);
        let plate = format!("{}A{:05}", CITIES[city].3, index % 100_000);
        let fine = [5_000, 10_000, 20_000, 150_000][rng.gen_range(0..4)];
        let days_ago = rng.gen_range(0..45);
        let issued_on = world::china(self.clock.now()) - Duration::days(days_ago);
        self.authorities[city].issue(
            &number,
            SimDecision {
                plate: plate.clone(),
                owner: "赵六".into(),
                fine,
                issued_on,
                status: RecordStatus::Unpaid,
                payment_id: None,
                paid_amount: None,
                paid_at: None,
            },
        );
        let mut s = Scenario {
            index,
            rng,
            user,
            city,
            number,
            plate,
            keys: BTreeMap::new(),
            keys_made: 0,
            last: None,
            trace: vec![format!(
                "decision {} of city {} for {} yuan, issued {days_ago} days ago; user {user}",
                index,
                CITIES[city].0,
                fine / 100
            )],
            step: 0,
            sabotaged: false,
        };
        let steps = s.rng.gen_range(3..=10);
        for step in 0..steps {
            s.step = step;
            self.act(&mut s).await?;
            self.stats.steps += 1;
            self.check_safety(&s).await?;
        }
        s.step = steps;
        s.trace
            .push("the world recovers; rounds run until nothing is left".into());
        self.quiesce(&mut s).await?;
        self.check_safety(&s).await?;
        self.check_settled(&s).await
    }

    fn fail(&self, s: &Scenario, invariant: &'static str, detail: impl Into<String>) -> Failure {
        Failure {
            seed: self.seed,
            scenario: s.index,
            step: s.step,
            invariant,
            detail: detail.into(),
            trace: s.trace.clone(),
        }
    }

    /// One step of the walk.
    async fn act(&mut self, s: &mut Scenario) -> Result<(), Failure> {
        let roll = s.rng.gen_range(0..100);
        match roll {
            0..=29 => self.pay(s).await,
            30..=41 => self.top_up(s).await,
            42..=49 => self.repay(s).await,
            50..=59 => {
                let mode = match s.rng.gen_range(0..10) {
                    0..=3 => BankMode::Up,
                    4 => BankMode::Declines,
                    5 | 6 => BankMode::Down,
                    7 | 8 => BankMode::TakesThenTimesOut,
                    _ => BankMode::BooksLate,
                };
                if mode != BankMode::Up {
                    self.stats.outages += 1;
                }
                s.trace.push(format!("the bank: {mode:?}"));
                self.bank.set_mode(mode);
                Ok(())
            }
            60..=67 => {
                let city = s.rng.gen_range(0..CITIES.len());
                let mode = match s.rng.gen_range(0..4) {
                    0 | 1 => AuthorityMode::Up,
                    2 => AuthorityMode::Down,
                    _ => AuthorityMode::AnswersLost,
                };
                if mode != AuthorityMode::Up {
                    self.stats.outages += 1;
                }
                s.trace
                    .push(format!("the authority of {}: {mode:?}", CITIES[city].0));
                self.authorities[city].set_mode(mode);
                Ok(())
            }
            68..=71 => {
                let done = self.authorities[s.city].revoke(&s.number);
                s.trace
                    .push(format!("the authority revokes the decision ({done})"));
                Ok(())
            }
            72..=74 => {
                let done = self.authorities[s.city].paid_at_counter(&s.number);
                s.trace
                    .push(format!("the decision is paid at a bank counter ({done})"));
                Ok(())
            }
            75..=86 => {
                let by = match s.rng.gen_range(0..10) {
                    0..=3 => Duration::seconds(2),
                    4..=6 => Duration::seconds(20),
                    7 => Duration::seconds(700),
                    8 => Duration::days(1),
                    _ => Duration::days(16),
                };
                if by >= Duration::seconds(300) {
                    // The bank books a late charge within minutes, well inside give_up_after.
                    self.bank.book_late();
                }
                self.clock.advance(by);
                s.trace.push(format!("time passes: {by}"));
                Ok(())
            }
            87..=97 => {
                let which = s.rng.gen_range(0..3);
                s.trace
                    .push(["dispatcher round", "resolver round", "feeds read"][which].to_string());
                self.round(s, which).await
            }
            _ => {
                s.trace.push("the bank books its late charges".into());
                self.bank.book_late();
                Ok(())
            }
        }
    }

    async fn round(&mut self, s: &Scenario, which: usize) -> Result<(), Failure> {
        let result = match which {
            0 => self.platform.deliver_due_now().await.map(|_| ()),
            1 => self.platform.resolve_charges_now().await,
            _ => self.platform.read_feeds_now().await,
        };
        match result {
            Ok(()) => Ok(()),
            // A round reading from an authority that is down fails and is run again later.
            Err(CoreError::Internal(why)) if which == 2 && why.contains("unavailable") => Ok(()),
            Err(e) => Err(self.fail(s, "background rounds do not fail", format!("{e:?}"))),
        }
    }

    /// A request of `kind`: usually a new key with `fresh`'s amount and choice, sometimes the last
    /// request again, key and body alike (a client retrying after a lost answer).
    fn request(
        s: &mut Scenario,
        kind: &'static str,
        fresh: impl FnOnce(&mut StdRng) -> (i64, u8),
    ) -> (String, i64, u8) {
        if let Some((last_kind, key, amount, choice)) = &s.last {
            if *last_kind == kind && s.rng.gen_bool(0.25) {
                return (key.clone(), *amount, *choice);
            }
        }
        let (amount, choice) = fresh(&mut s.rng);
        s.keys_made += 1;
        let key = format!("{kind}-{}-{}", s.index, s.keys_made);
        s.last = Some((kind, key.clone(), amount, choice));
        (key, amount, choice)
    }

    /// SPEC §3: once an answer is stored under a key, the same request gets it again, replayed,
    /// and is never made a second time. A made resource's final answer is stored; a refusal may
    /// be (decided in the writer job) or not (nothing was claimed), so it counts once replayed.
    fn check_replay(
        &self,
        s: &mut Scenario,
        key: &str,
        reply: &finepay_core::Reply,
    ) -> Result<(), Failure> {
        let made_final =
            reply.outcome == Outcome::Created && !reply.body.contains("\"status\":\"processing\"");
        match s.keys.get(key) {
            Some((outcome, body))
                if !reply.replayed || *outcome != reply.outcome || *body != reply.body =>
            {
                return Err(self.fail(
                    s,
                    "a repeated key answers what it answered first",
                    format!(
                        "stored {outcome:?} {body}; now {:?} {} (replayed: {})",
                        reply.outcome, reply.body, reply.replayed
                    ),
                ));
            }
            Some(_) => {}
            None if reply.replayed || made_final => {
                s.keys
                    .insert(key.to_string(), (reply.outcome, reply.body.clone()));
            }
            None => {}
        }
        Ok(())
    }

    /// A refusal the walk expects (not enough money, an outage, a paid decision) is fine; an
    /// internal error is a bug.
    fn allowed(&self, s: &Scenario, e: &CoreError) -> Result<String, Failure> {
        match e {
            CoreError::Internal(_) | CoreError::Conflict | CoreError::Busy => {
                Err(self.fail(s, "no request fails inside", format!("{e:?}")))
            }
            other => Ok(format!("refused: {:?}", other.code())),
        }
    }

    async fn pay(&mut self, s: &mut Scenario) -> Result<(), Failure> {
        let due = {
            let state = self.authorities[s.city]
                .state
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let d = &state.decisions[&s.number];
            charges_on(
                Fen::from_fen(d.fine),
                d.issued_on,
                world::china(self.clock.now()),
            )
            .amount_due
            .fen()
        };
        let (key, amount, choice) = Self::request(s, "pay", |rng| {
            let amount = if rng.gen_bool(0.1) { due + 100 } else { due };
            (amount, rng.gen_range(0..3))
        });
        let user = &self.users[s.user];
        let method = match choice {
            0 => PayMethod::Balance,
            1 => PayMethod::Credit,
            _ => PayMethod::Card {
                card_id: user.card_id.clone(),
            },
        };
        let req = PayRequest::parse(&s.number, Fen::from_fen(amount), &s.plate, method.clone())
            .map_err(|e| self.fail(s, "the walk builds valid requests", format!("{e:?}")))?;
        let body = serde_json::json!({
            "decision_number": s.number,
            "amount": amount,
            "confirm_plate": s.plate,
            "method": method.request_json(),
        });
        let idem = IdempotencyKey::new(Some(key.as_str()), "POST /api/v1/payments", &body)
            .map_err(|e| self.fail(s, "the walk builds valid keys", format!("{e:?}")))?;
        let uid = user.id.clone();
        let result = self.platform.payments().pay(&uid, "sim", idem, req).await;
        let line = format!("pay {} fen by {:?} under {key}", amount, method.kind());
        match result {
            Ok(reply) => {
                self.check_replay(s, &key, &reply)?;
                let status = status_of(&reply.body);
                if status == "succeeded" && !reply.replayed {
                    self.stats.payments_succeeded += 1;
                    if self.sabotage == Some(Sabotage::ForgetNotice { scenario: s.index })
                        && !s.sabotaged
                    {
                        s.sabotaged = true;
                        let id = id_of(&reply.body);
                        self.sabotage_sql(
                            "UPDATE outbox SET delivered_at = created_at
                             WHERE kind = 'payment_notice' AND payment_id = $1",
                            &id,
                        )
                        .await;
                    }
                }
                s.trace.push(format!(
                    "{line}: {:?} {status}{}",
                    reply.outcome,
                    if reply.replayed { " (replayed)" } else { "" }
                ));
            }
            Err(e) => {
                let what = self.allowed(s, &e)?;
                s.trace.push(format!("{line}: {what}"));
            }
        }
        Ok(())
    }

    async fn top_up(&mut self, s: &mut Scenario) -> Result<(), Failure> {
        let (key, amount, _) = Self::request(s, "top", |rng| (rng.gen_range(1..=3_000) * 100, 0));
        let user = &self.users[s.user];
        let body = serde_json::json!({"card_id": user.card_id, "amount": amount});
        let idem = IdempotencyKey::new(Some(key.as_str()), "POST /api/v1/wallet/top-ups", &body)
            .map_err(|e| self.fail(s, "the walk builds valid keys", format!("{e:?}")))?;
        let (uid, card) = (user.id.clone(), user.card_id.clone());
        let result = self
            .platform
            .wallet()
            .top_up(&uid, idem, &card, Fen::from_fen(amount))
            .await;
        let line = format!("top up {amount} fen under {key}");
        if self.answered(s, &key, line, result)? {
            self.stats.top_ups += 1;
        }
        if self.sabotage == Some(Sabotage::SkewWallet { scenario: s.index }) && !s.sabotaged {
            s.sabotaged = true;
            let key = finepay_domain::Account::UserBalance(self.users[s.user].id.clone()).key();
            self.sabotage_sql(
                "UPDATE accounts SET balance = balance + 1 WHERE key = $1",
                &key,
            )
            .await;
        }
        Ok(())
    }

    /// Checks and records a top-up's or repayment's answer; true when it made one now.
    fn answered(
        &self,
        s: &mut Scenario,
        key: &str,
        line: String,
        result: Result<finepay_core::Reply, CoreError>,
    ) -> Result<bool, Failure> {
        match result {
            Ok(reply) => {
                self.check_replay(s, key, &reply)?;
                let status = status_of(&reply.body);
                s.trace
                    .push(format!("{line}: {:?} {status}", reply.outcome));
                Ok(status == "succeeded" && !reply.replayed)
            }
            Err(e) => {
                let what = self.allowed(s, &e)?;
                s.trace.push(format!("{line}: {what}"));
                Ok(false)
            }
        }
    }

    async fn repay(&mut self, s: &mut Scenario) -> Result<(), Failure> {
        let (key, amount, choice) = Self::request(s, "rpy", |rng| {
            (rng.gen_range(1..=500) * 100, rng.gen_range(0..2))
        });
        let user = &self.users[s.user];
        let source = if choice == 0 {
            finepay_core::credit::RepaymentSource::Balance
        } else {
            finepay_core::credit::RepaymentSource::Card {
                card_id: user.card_id.clone(),
            }
        };
        let body = serde_json::json!({"amount": amount, "source": source.request_json()});
        let idem = IdempotencyKey::new(Some(key.as_str()), "POST /api/v1/credit/repayments", &body)
            .map_err(|e| self.fail(s, "the walk builds valid keys", format!("{e:?}")))?;
        let uid = user.id.clone();
        let result = self
            .platform
            .credit()
            .repay(&uid, idem, Fen::from_fen(amount), source.clone())
            .await;
        let line = format!("repay {amount} fen from {source:?} under {key}");
        if self.answered(s, &key, line, result)? {
            self.stats.repayments += 1;
        }
        Ok(())
    }

    async fn sabotage_sql(&self, sql: &'static str, arg: &str) {
        let arg = arg.to_string();
        let _ = self
            .platform
            .db()
            .writer()
            .run(move |c| c.execute(sql, params![arg.as_str()]))
            .await;
    }

    /// Everything back up; the clock moves past every retry and the resolver's give-up; rounds
    /// run until no charge is in doubt and no notice is undelivered.
    async fn quiesce(&mut self, s: &mut Scenario) -> Result<(), Failure> {
        self.bank.set_mode(BankMode::Up);
        self.bank.book_late();
        for a in &self.authorities {
            a.set_mode(AuthorityMode::Up);
        }
        for _ in 0..12 {
            self.clock.advance(Duration::seconds(20));
            self.round(s, 2).await?;
            self.round(s, 1).await?;
            self.round(s, 0).await?;
            if self.pending().await == (0, 0) {
                return Ok(());
            }
            self.clock.advance(
                chrono::Duration::from_std(self.platform.config().give_up_after)
                    .unwrap_or_default(),
            );
        }
        let (processing, undelivered) = self.pending().await;
        Err(self.fail(
            s,
            "the platform settles once the world is up",
            format!("{processing} charges still processing, {undelivered} outbox rows undelivered"),
        ))
    }

    async fn pending(&self) -> (i64, i64) {
        self.platform
            .db()
            .read(|c| {
                let processing = c
                    .query_one(
                        "SELECT (SELECT COUNT(*) FROM payments WHERE status = 'processing')
                              + (SELECT COUNT(*) FROM top_ups WHERE status = 'processing')
                              + (SELECT COUNT(*) FROM credit_repayments WHERE status = 'processing') AS n",
                        &[],
                    )?
                    .int("n")?;
                let undelivered = c
                    .query_one(
                        "SELECT COUNT(*) AS n FROM outbox WHERE delivered_at IS NULL",
                        &[],
                    )?
                    .int("n")?;
                Ok((processing, undelivered))
            })
            .await
            .unwrap_or((-1, -1))
    }

    /// After every step: the ledger's invariants, and what the platform says it has against what
    /// the bank and the authorities have.
    async fn check_safety(&self, s: &Scenario) -> Result<(), Failure> {
        let (_, findings) = self
            .platform
            .db()
            .read(|c| finepay_store::repo::check::run(c))
            .await
            .map_err(|e| self.fail(s, "the ledger can be checked", e.to_string()))?;
        if let Some(f) = findings.first() {
            return Err(self.fail(s, "ledger check", format!("{}: {}", f.rule, f.detail)));
        }
        let charged = self.charged_by_card().await;
        self.bank_took(s, &charged)?;
        let payments = self.payments().await;
        for a in &self.authorities {
            let state = a.state.lock().unwrap_or_else(|p| p.into_inner());
            for (number, payment, amount) in &state.accepted {
                match payments.get(payment) {
                    Some((status, paid, decision))
                        if decision == number
                            && paid == amount
                            && (status == "succeeded" || status == "refunded") => {}
                    other => {
                        return Err(self.fail(
                            s,
                            "the authority records only payments the platform kept",
                            format!("decision {number} paid by {payment} ({amount} fen); the platform has {other:?}"),
                        ))
                    }
                }
            }
        }
        Ok(())
    }

    /// Every succeeded card-funded record is a charge the bank made, of its amount.
    fn bank_took(&self, s: &Scenario, charged: &[(String, String, i64)]) -> Result<(), Failure> {
        let bank = self.bank.state.lock().unwrap_or_else(|p| p.into_inner());
        for (what, reference, amount) in charged {
            match bank.charges.get(reference) {
                Some(c) if c.amount == *amount => {}
                other => {
                    return Err(self.fail(
                        s,
                        "the platform never counts money the bank did not take",
                        format!(
                            "{what} {reference} of {amount} fen succeeded; the bank has {other:?}"
                        ),
                    ))
                }
            }
        }
        Ok(())
    }

    /// At the end of a scenario, with the world up and every round run.
    async fn check_settled(&mut self, s: &Scenario) -> Result<(), Failure> {
        let payments = self.payments().await;
        self.stats.refunds += payments
            .values()
            .filter(|(status, _, number)| status == "refunded" && *number == s.number)
            .count();
        let authority_status = self.authority_statuses().await;
        for (id, (status, amount, number)) in &payments {
            if status != "succeeded" {
                continue;
            }
            let city = CITIES
                .iter()
                .position(|(code, ..)| number.starts_with(&code[..4]))
                .unwrap_or(0);
            let state = self.authorities[city]
                .state
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let d = state.decisions.get(number);
            let recorded = d.is_some_and(|d| {
                d.payment_id.as_deref() == Some(id.as_str()) && d.paid_amount == Some(*amount)
            });
            if !recorded {
                return Err(self.fail(
                    s,
                    "every kept payment is recorded by its authority",
                    format!("payment {id} of {amount} fen for {number} succeeded; the authority has {d:?}"),
                ));
            }
            if authority_status.get(id).map(String::as_str) != Some("confirmed") {
                return Err(self.fail(
                    s,
                    "a recorded payment is confirmed",
                    format!(
                        "payment {id}: authority_status {:?}",
                        authority_status.get(id)
                    ),
                ));
            }
        }
        // Every charge the bank holds is a succeeded payment, top-up or repayment of the same
        // amount; everything else was given back in full.
        let charged = self.charged_by_card().await;
        let kept: BTreeMap<&str, i64> = charged.iter().map(|(_, r, a)| (r.as_str(), *a)).collect();
        let bank = self.bank.state.lock().unwrap_or_else(|p| p.into_inner());
        for (reference, c) in &bank.charges {
            let net = c.amount - c.refunded;
            let expected = kept.get(reference.as_str()).copied().unwrap_or(0);
            if net != expected {
                return Err(self.fail(
                    s,
                    "the bank keeps exactly what the platform kept",
                    format!(
                        "charge {reference}: {} taken, {} refunded; the platform keeps {expected}",
                        c.amount, c.refunded
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Succeeded card-funded records: (what, bank reference, amount).
    async fn charged_by_card(&self) -> Vec<(String, String, i64)> {
        self.platform
            .db()
            .read(|c| {
                let rows = c.query(
                    "SELECT 'payment' AS what, COALESCE(bank_reference, id) AS reference, amount FROM payments
                       WHERE method_type = 'card' AND status = 'succeeded'
                     UNION ALL
                     SELECT 'top-up', bank_reference, amount FROM top_ups WHERE status = 'succeeded'
                     UNION ALL
                     SELECT 'repayment', COALESCE(bank_reference, id), amount FROM credit_repayments
                       WHERE source_type = 'card' AND status = 'succeeded'",
                    &[],
                )?;
                rows.iter()
                    .map(|r| Ok((r.text("what")?, r.text("reference")?, r.int("amount")?)))
                    .collect::<Result<Vec<_>, finepay_store::StoreError>>()
            })
            .await
            .unwrap_or_default()
    }

    /// Every payment: id → (status, amount, decision number).
    async fn payments(&self) -> BTreeMap<String, (String, i64, String)> {
        self.platform
            .db()
            .read(|c| {
                let rows = c.query(
                    "SELECT id, status, amount, decision_number FROM payments",
                    &[],
                )?;
                rows.iter()
                    .map(|r| {
                        Ok((
                            r.text("id")?,
                            (
                                r.text("status")?,
                                r.int("amount")?,
                                r.text("decision_number")?,
                            ),
                        ))
                    })
                    .collect::<Result<BTreeMap<_, _>, finepay_store::StoreError>>()
            })
            .await
            .unwrap_or_default()
    }

    async fn authority_statuses(&self) -> BTreeMap<String, String> {
        self.platform
            .db()
            .read(|c| {
                let rows = c.query("SELECT id, authority_status FROM payments", &[])?;
                rows.iter()
                    .map(|r| Ok((r.text("id")?, r.text("authority_status")?)))
                    .collect::<Result<BTreeMap<_, _>, finepay_store::StoreError>>()
            })
            .await
            .unwrap_or_default()
    }
}

fn status_of(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["status"].as_str().map(str::to_string))
        .unwrap_or_else(|| "refused".into())
}

fn id_of(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["id"].as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A scenario's own seed from the lane's (splitmix64).
fn mix(seed: u64, index: u64) -> u64 {
    let mut z = seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A 16-digit decision number of the city whose code starts it, with its Luhn check digit.
fn decision_number(city: &str, serial: usize) -> String {
    let payload = format!("{}{:011}", &city[..4], serial);
    let check = finepay_domain::luhn_check_digit(&payload).unwrap_or(0);
    format!("{payload}{check}")
}

/// A valid 18-character resident ID number for a serial.
fn id_number(serial: u32) -> String {
    let body = format!("11010519900115{:03}", serial % 1000);
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .chars()
        .zip(W)
        .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
        .sum();
    format!("{body}{}", b"10X98765432"[(sum % 11) as usize] as char)
}
