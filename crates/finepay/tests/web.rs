//! The web app over plain HTTP (no browser): cookie sessions, CSRF, languages, the services'
//! pages, the decision's `plate_bound_to_you`, the receipt PDF and the public verification page.
//! The browser journeys are in `browser.rs`.
#![allow(clippy::unwrap_used)]

mod common;

use common::{json, TestApp, User};
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::{redirect, Client, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

/// A browser-like client: keeps the cookies it is given (by hand: the workspace's reqwest has no
/// cookie store), follows no redirects so the tests see them.
struct Browser {
    http: Client,
    base: String,
    cookies: Vec<(String, String)>,
    lang: &'static str,
}

impl Browser {
    fn new(app: &TestApp, lang: &'static str) -> Browser {
        Browser {
            http: Client::builder()
                .redirect(redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            base: app.url.clone(),
            cookies: Vec::new(),
            lang,
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, res: &reqwest::Response) -> Vec<String> {
        let mut raw = Vec::new();
        for v in res.headers().get_all(SET_COOKIE) {
            let text = v.to_str().unwrap().to_string();
            let pair = text.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            self.cookies.retain(|(name, _)| name != k);
            if !v.is_empty() {
                self.cookies.push((k.to_string(), v.to_string()));
            }
            raw.push(text);
        }
        raw
    }

    async fn get(&mut self, path: &str) -> (StatusCode, String) {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .header("accept-language", self.lang)
            .send()
            .await
            .unwrap();
        self.keep(&res);
        let status = res.status();
        (status, res.text().await.unwrap())
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .header("accept-language", self.lang)
            .header("origin", &self.base)
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep(&res);
        res
    }

    /// The CSRF token of the first form on a page.
    async fn csrf(&mut self, path: &str) -> String {
        let (_, html) = self.get(path).await;
        hidden(&html, "csrf")
    }

    async fn log_in(&mut self, phone: &str, password: &str) {
        let csrf = self.csrf("/login").await;
        let res = self
            .post(
                "/login",
                &[("csrf", &csrf), ("phone", phone), ("password", password)],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "log in");
    }
}

/// The value of a hidden input on a page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

async fn web_user(app: &TestApp) -> (User, String) {
    let phone = common::unique_phone();
    let id_number = common::id_number(900 + (std::process::id() % 50));
    let res = app
        .post(
            "/api/v1/users",
            None,
            &json!({"phone": phone, "password": "correct horse", "name": "李小龙", "id_number": id_number}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let (_, session) = json(
        app.post(
            "/api/v1/sessions",
            None,
            &json!({"phone": phone, "password": "correct horse"}),
        )
        .await,
    )
    .await;
    let user = User {
        id: String::new(),
        phone: phone.clone(),
        token: session["token"].as_str().unwrap().to_string(),
        name: "李小龙".into(),
        id_number,
    };
    (user, phone)
}

#[tokio::test]
async fn every_service_the_search_finds_has_a_page_and_jtwf_finds_traffic_violation_payment() {
    let app = TestApp::spawn().await;
    let (_, list) = json(app.get("/api/v1/services?q=jtwf", None).await).await;
    assert_eq!(list["data"][0]["id"], "traffic-fine-payment");
    assert_eq!(list["data"][0]["name"], "Traffic Violation Payment");
    assert_eq!(list["data"][0]["name_zh"], "交通违法缴款");
    let (_, all) = json(app.get("/api/v1/services", None).await).await;
    let mut browser = Browser::new(&app, "en");
    for service in all["data"].as_array().unwrap() {
        let path = service["path"].as_str().unwrap();
        let (status, html) = browser.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(html.contains(service["name"].as_str().unwrap()), "{path}");
    }
    for q in [
        "12123",
        "violation%20payment",
        "%E4%BA%A4%E9%80%9A%E8%BF%9D%E6%B3%95",
        "jtwf",
    ] {
        let (status, html) = browser.get(&format!("/search?q={q}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            html.contains("href=\"/services/traffic-fine-payment\""),
            "q={q}"
        );
    }
}

#[tokio::test]
async fn a_post_without_its_csrf_token_or_from_another_site_is_refused() {
    let app = TestApp::spawn().await;
    let (_, phone) = web_user(&app).await;
    let mut browser = Browser::new(&app, "en");
    // No token: 403, and no session was made.
    let res = browser
        .post(
            "/login",
            &[("phone", &phone), ("password", "correct horse")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(!browser.cookies.iter().any(|(k, _)| k == "fp_session"));
    // A token of another browser: 403.
    let mut other = Browser::new(&app, "en");
    let foreign = other.csrf("/login").await;
    let res = browser
        .post(
            "/login",
            &[
                ("csrf", &foreign),
                ("phone", &phone),
                ("password", "correct horse"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // The right token from another origin: 403.
    let csrf = browser.csrf("/login").await;
    let res = browser
        .http
        .post(format!("{}/login", app.url))
        .header(COOKIE, browser.cookie_header())
        .header("origin", "https://evil.example")
        .form(&[
            ("csrf", csrf.as_str()),
            ("phone", &phone),
            ("password", "correct horse"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = browser
        .http
        .post(format!("{}/login", app.url))
        .header(COOKIE, browser.cookie_header())
        .header("sec-fetch-site", "cross-site")
        .form(&[
            ("csrf", csrf.as_str()),
            ("phone", &phone),
            ("password", "correct horse"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // With it: signed in.
    browser.log_in(&phone, "correct horse").await;
    let (status, html) = browser.get("/wallet").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("¥0.00"));
}

#[tokio::test]
async fn the_session_cookie_is_http_only_same_site_lax_and_secure_behind_tls_and_logout_ends_it() {
    // The test client stands for the TLS-terminating proxy in front of finepay.
    let app = TestApp::spawn_with(|c| {
        c.trusted_proxies = finepay_http::TrustedProxies::parse("127.0.0.1").unwrap();
    })
    .await;
    let (_, phone) = web_user(&app).await;
    let mut browser = Browser::new(&app, "en");
    let csrf = browser.csrf("/login").await;
    let res = browser
        .http
        .post(format!("{}/login", app.url))
        .header(COOKIE, browser.cookie_header())
        .header("x-forwarded-proto", "https")
        .form(&[
            ("csrf", csrf.as_str()),
            ("phone", &phone),
            ("password", "correct horse"),
            ("next", "/wallet"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/wallet");
    let set = browser.keep(&res);
    let session = set.iter().find(|c| c.starts_with("fp_session=")).unwrap();
    for attr in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
        assert!(session.contains(attr), "{session} lacks {attr}");
    }
    // The token is stored hashed: the cookie's value is not in the sessions table.
    let token = browser
        .cookies
        .iter()
        .find(|(k, _)| k == "fp_session")
        .unwrap()
        .1
        .clone();
    let stored: Vec<String> = app.with_db(|c| {
        c.query("SELECT token_hash FROM sessions", &[])
            .unwrap()
            .into_iter()
            .map(|r| r.text("token_hash").unwrap())
            .collect()
    });
    assert!(!stored.is_empty() && !stored.contains(&token));
    // The SSE stream takes the cookie.
    let res = browser
        .http
        .get(format!("{}/api/v1/notifications/stream", app.url))
        .header(COOKIE, browser.cookie_header())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    drop(res);
    // Log out: the session is gone from the database, and the page asks to log in again.
    let csrf = browser.csrf("/wallet").await;
    let res = browser.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (status, _) = browser.get("/wallet").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let res = app
        .http
        .get(format!("{}/api/v1/wallet", app.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_language_follows_accept_language_and_lang_switches_and_is_remembered() {
    let app = TestApp::spawn().await;
    let mut zh = Browser::new(&app, "zh-CN,zh;q=0.9,en;q=0.5");
    let (_, html) = zh.get("/fines").await;
    assert!(html.contains("<html lang=\"zh-Hans\">"));
    assert!(html.contains("<label for=\"number\">处罚决定书编号</label>"));
    assert!(html.contains("class=\"button primary\">查询</button>"));
    let (_, html) = zh.get("/fines?lang=en").await;
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("<label for=\"number\">Penalty decision number</label>"));
    assert!(html.contains("class=\"button primary\">Look up</button>"));
    let (_, html) = zh.get("/login").await;
    assert!(
        html.contains("<label for=\"phone\">Phone</label>")
            && html.contains("<label for=\"password\">Password</label>")
            && html.contains("class=\"button primary\">Log in</button>"),
        "the choice is remembered: {html}"
    );
    let mut en = Browser::new(&app, "en-GB");
    let (_, html) = en.get("/register").await;
    for (id, label) in [
        ("phone", "Phone"),
        ("password", "Password"),
        ("name", "Name"),
        ("id_number", "ID number"),
    ] {
        assert!(
            html.contains(&format!("<label for=\"{id}\">{label}</label>")),
            "{label}"
        );
    }
    assert!(html.contains("class=\"button primary\">Register</button>"));
    let mut zh = Browser::new(&app, "zh-CN");
    let (_, html) = zh.get("/register").await;
    for (id, label) in [
        ("phone", "手机号"),
        ("password", "密码"),
        ("name", "姓名"),
        ("id_number", "身份证号"),
    ] {
        assert!(
            html.contains(&format!("<label for=\"{id}\">{label}</label>")),
            "{label}"
        );
    }
    assert!(html.contains("class=\"button primary\">注册</button>"));
    // An address that does not exist: a page for a browser, SPEC's JSON error for the API.
    let res = en
        .http
        .get(format!("{}/no-such-page", app.url))
        .header("accept", "text/html,application/xhtml+xml")
        .header("accept-language", "zh-CN")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.text().await.unwrap().contains("页面不存在"));
    let (status, body) = json(app.get("/no-such-page", None).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test]
async fn a_typed_number_is_checked_as_you_type_without_a_lookup() {
    let app = TestApp::spawn().await;
    let mut browser = Browser::new(&app, "en");
    let (_, ok) = browser.get("/fines/check?number=1100000000000015").await;
    let ok: Value = serde_json::from_str(&ok).unwrap();
    assert_eq!(ok["valid"], true);
    assert!(ok["message"].as_str().unwrap().contains("Beijing"));
    let (_, typo) = browser.get("/fines/check?number=1100000000000016").await;
    let typo: Value = serde_json::from_str(&typo).unwrap();
    assert_eq!(
        (typo["valid"].clone(), typo["error"].clone()),
        (json!(false), json!(true))
    );
    assert!(typo["message"].as_str().unwrap().contains("last digit"));
    // Submitting the typo keeps it and says what to do, in Chinese too.
    let mut zh = Browser::new(&app, "zh-CN");
    let (status, html) = zh.get("/fines?number=1100+0000+0000+0016").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("请核对数字") && html.contains("1100 0000 0000 0016"));
    let (status, _) = browser.get("/fines?number=1100000000000015").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_decision_says_whether_its_plate_is_bound_to_you_and_errors_come_in_chinese() {
    let app = TestApp::spawn().await;
    let (user, _) = app.funded_user(100).await;
    let number = app.decision("京A60001", "110000", 0).await;
    let d = app
        .get_json(&format!("/api/v1/penalty-decisions/{number}"), &user.token)
        .await;
    assert_eq!(d["plate_bound_to_you"], false);
    let (status, body) = json(
        app.post(
            "/api/v1/vehicles",
            Some(&user.token),
            &json!({"plate": "京A60001", "vin_last6": "184847"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let d = app
        .get_json(&format!("/api/v1/penalty-decisions/{number}"), &user.token)
        .await;
    assert_eq!(d["plate_bound_to_you"], true);
    assert_eq!(d["days_late"], 0);

    // The page in Chinese: a wrong plate, then too little balance (¥100 for a ¥200 fine).
    let session = &user.token;
    let mut zh = Browser::new(&app, "zh-CN");
    zh.cookies.push(("fp_session".into(), session.clone()));
    let (status, html) = zh.get(&format!("/fines/{number}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("¥200.00") && html.contains("号牌号码") && html.contains("余额"));
    assert!(
        !html.contains("该号牌未绑定到您的账户"),
        "no warning for a bound plate"
    );
    let csrf = hidden(&html, "csrf");
    let key = hidden(&html, "idempotency_key");
    let res = zh
        .post(
            &format!("/fines/{number}/pay"),
            &[
                ("csrf", &csrf),
                ("idempotency_key", &key),
                ("amount", "20000"),
                ("confirm_plate", "京A00000"),
                ("method", "balance"),
            ],
        )
        .await;
    let text = res.text().await.unwrap();
    assert!(text.contains("号牌与处罚决定书上的车辆不符"), "{text}");
    let res = zh
        .post(
            &format!("/fines/{number}/pay"),
            &[
                ("csrf", &csrf),
                ("idempotency_key", &format!("{key}-2")),
                ("amount", "20000"),
                ("confirm_plate", "京A60001"),
                ("method", "balance"),
            ],
        )
        .await;
    let text = res.text().await.unwrap();
    assert!(
        text.contains("余额不足，请充值或选择其他支付方式"),
        "{text}"
    );
    assert!(
        text.contains("可用 ¥100.00"),
        "the balance is shown beside the choice"
    );
    assert_eq!(app.balance(&user).await, 10_000, "nothing charged");
}

#[tokio::test]
async fn the_receipt_pdf_and_the_public_verification_page() {
    let app = TestApp::spawn().await;
    let (user, _) = app.funded_user(500).await;
    let number = app.decision("沪A60002", "310000", 0).await;
    let (status, paid) = json(
        app.pay(
            &user,
            "pdf-1",
            &number,
            20_000,
            "沪A60002",
            json!({"type": "balance"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{paid}");
    let receipt_id = paid["receipt_id"].as_str().unwrap();
    let res = app
        .get(
            &format!("/api/v1/receipts/{receipt_id}/pdf"),
            Some(&user.token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let pdf = res.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    assert!(
        pdf.len() < 400_000,
        "the font is subset: {} bytes",
        pdf.len()
    );
    // Another user's receipt is not found.
    let stranger = app.user().await;
    let res = app
        .get(
            &format!("/api/v1/receipts/{receipt_id}/pdf"),
            Some(&stranger.token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // The page's QR link: genuine; one character changed, or another receipt's id: not genuine.
    let mut browser = Browser::new(&app, "zh-CN");
    browser
        .cookies
        .push(("fp_session".into(), user.token.clone()));
    let (status, html) = browser.get(&format!("/receipts/{receipt_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("电子回单") && html.contains("下载PDF") && html.contains("<svg"));
    let marker = "data-verify-link>";
    let start = html.find(marker).unwrap() + marker.len();
    let url = html[start..].split('<').next().unwrap().to_string();
    let path = url.strip_prefix(&app.url).unwrap().to_string();
    let mut anyone = Browser::new(&app, "en");
    let (status, page) = anyone.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Genuine receipt") && page.contains("¥200.00") && page.contains("Shanghai")
    );
    let mut forged = path.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let (status, page) = anyone.get(&forged).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("Not a genuine receipt"));
    let code = path.rsplit('/').next().unwrap();
    let (_, page) = anyone
        .get(&format!(
            "/verify/rcp_00000000000000000000000000000000/{code}"
        ))
        .await;
    assert!(page.contains("Not a genuine receipt"));
}

#[tokio::test]
async fn the_same_pay_form_sent_twice_at_once_charges_once_and_both_land_on_the_payment() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    // This card approves after 2 s: the second submit arrives while the first is at the bank.
    let card = app.link_card(&user, common::CARD_SLOW).await;
    let number = app.decision("粤A60003", "440100", 0).await;
    let mut browser = Browser::new(&app, "en");
    browser
        .cookies
        .push(("fp_session".into(), user.token.clone()));
    let (status, html) = browser.get(&format!("/fines/{number}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<label for=\"confirm_plate\">Licence plate</label>"));
    assert!(html.contains("Card ending 0067</label>"));
    let (csrf, key) = (hidden(&html, "csrf"), hidden(&html, "idempotency_key"));
    let method = format!("card:{card}");
    let form = [
        ("csrf", csrf.as_str()),
        ("idempotency_key", key.as_str()),
        ("amount", "20000"),
        ("confirm_plate", "粤A60003"),
        ("method", method.as_str()),
    ];
    let send = || {
        browser
            .http
            .post(format!("{}/fines/{number}/pay", app.url))
            .header(COOKIE, browser.cookie_header())
            .header("origin", &app.url)
            .form(&form)
            .send()
    };
    let (a, b) = tokio::join!(send(), send());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(
        (a.status(), b.status()),
        (StatusCode::SEE_OTHER, StatusCode::SEE_OTHER)
    );
    let (la, lb) = (
        a.headers()["location"].clone(),
        b.headers()["location"].clone(),
    );
    assert_eq!(la, lb, "both submits land on the one payment");
    let payments = app.get_json("/api/v1/payments", &user.token).await;
    let mine: Vec<&Value> = payments["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["decision_number"] == number.as_str())
        .collect();
    assert_eq!(mine.len(), 1, "{payments}");
    assert_eq!(mine[0]["status"], "succeeded");
    assert_eq!(
        format!("/payments/{}", mine[0]["id"].as_str().unwrap()),
        la.to_str().unwrap()
    );
    // The bank was charged once, under the payment's reference.
    let (status, page) = browser.get(la.to_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Payment successful") && page.contains("Card ending 0067"));
    // The decision page now says Already paid and has no Pay button.
    let (_, html) = browser.get(&format!("/fines/{number}")).await;
    assert!(html.contains("Already paid") && !html.contains("data-pay-button"));
}
