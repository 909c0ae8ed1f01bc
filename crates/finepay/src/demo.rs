//! `finepay serve --demo`: a demo user with a linked card, a topped-up wallet, a vehicle and
//! decisions to pay, seeded through the same use cases and sandbox API a user and a test would use.
//! Seeding twice does not duplicate anything: what was made is remembered in `demo.json`.

use crate::Running;
use anyhow::Context;
use chrono::{Duration, Utc};
use finepay_core::{CoreError, IdempotencyKey, Registration};
use finepay_domain::Fen;
use finepay_sandbox::authority::{NewVehicle, NewViolation};
use serde_json::json;
use std::path::Path;

pub const DEMO_PHONE: &str = "13800138000";
pub const DEMO_PASSWORD: &str = "finepay-demo";
const DEMO_NAME: &str = "张三丰";
/// The example resident ID number of GB 11643 (valid check digit).
const DEMO_ID_NUMBER: &str = "11010519491231002X";
const DEMO_PLATE: &str = "京A12345";
const DEMO_CARD: &str = "6222020000000000018";

/// What the demo made, remembered across restarts.
#[derive(Debug, Clone)]
pub struct Demo {
    pub decisions: Vec<String>,
}

pub async fn seed(running: &Running, data_dir: &Path) -> anyhow::Result<Demo> {
    let memo = data_dir.join("demo.json");
    if let Ok(text) = std::fs::read_to_string(&memo) {
        let v: serde_json::Value = serde_json::from_str(&text).context("demo.json is not JSON")?;
        let decisions = v["decisions"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|d| d.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        return Ok(Demo { decisions });
    }
    let accounts = running.platform.accounts();
    let p = &running.platform;
    let user = match accounts
        .register(
            Registration {
                phone: DEMO_PHONE.into(),
                password: DEMO_PASSWORD.into(),
                name: DEMO_NAME.into(),
                id_number: DEMO_ID_NUMBER.into(),
            },
            "demo",
        )
        .await
    {
        Ok(u) => u.id,
        Err(CoreError::PhoneTaken) => {
            accounts
                .login(DEMO_PHONE, DEMO_PASSWORD, "demo")
                .await?
                .user_id
        }
        Err(e) => return Err(e.into()),
    };
    let card = accounts.link_card(&user, DEMO_CARD, DEMO_NAME).await?;
    let idem = IdempotencyKey::new(Some("demo-top-up"), "demo", &json!({}))?;
    p.wallet()
        .top_up(&user, idem, &card.id, Fen::from_fen(100_000))
        .await?;

    let sandbox = running
        .sandbox_authority
        .as_ref()
        .context("--demo seeds the in-process sandboxes: leave --endpoints out")?;
    sandbox.register_vehicle(NewVehicle {
        plate: DEMO_PLATE.into(),
        vin: "LSVAM4187C2184847".into(),
        owner_name: DEMO_NAME.into(),
        owner_id_number: DEMO_ID_NUMBER.into(),
        city_code: "110000".into(),
    })?;
    p.vehicles()
        .bind(
            &user,
            "demo",
            &finepay_core::parse_plate(DEMO_PLATE)?,
            "184847",
        )
        .await?;
    let mut decisions = Vec::new();
    // One served today (fine only), one served 20 days ago in another city (5 days late).
    for (city, location, days_ago) in [
        ("110000", "长安街与王府井大街交叉口", 0),
        ("310000", "延安东路外滩路口", 20),
    ] {
        let violation = sandbox.record_violation(NewViolation {
            city_code: city.into(),
            plate: DEMO_PLATE.into(),
            code: "1625".into(),
            occurred_at: Utc::now() - Duration::days(days_ago + 1),
            location: location.into(),
        })?;
        let issued_on = finepay_core::today_in_china() - Duration::days(days_ago);
        let decision = sandbox.issue_decision(violation.as_str(), Some(issued_on))?;
        decisions.push(decision.decision_number);
    }
    std::fs::write(
        &memo,
        json!({ "user_id": user, "decisions": decisions }).to_string(),
    )
    .with_context(|| format!("cannot write {}", memo.display()))?;
    Ok(Demo { decisions })
}

/// How to log in and what to pay, printed at start.
pub fn instructions(running: &Running, demo: &Demo) -> String {
    let url = running.url();
    let mut text = format!(
        "\nDemo data is ready.\n  Open:    {url}/  (log in with phone {DEMO_PHONE}, password {DEMO_PASSWORD})\n  Log in:  curl -s -X POST {url}/api/v1/sessions -H 'content-type: application/json' \\\n             -d '{{\"phone\":\"{DEMO_PHONE}\",\"password\":\"{DEMO_PASSWORD}\"}}'\n  Wallet:  1,000.00 yuan topped up from card 6222 **** 0018; plate {DEMO_PLATE}\n"
    );
    for number in &demo.decisions {
        text.push_str(&format!("  Pay:     penalty decision {number}\n"));
    }
    text.push_str(&format!(
        "  Operate: finepay admin grant {DEMO_PHONE} (with this --data-dir), then open {url}/admin\n"
    ));
    text
}
