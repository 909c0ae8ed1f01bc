// Browser tests of the finepay web app, run by crates/finepay/tests/browser.rs against the real
// server it started. playwright-core drives Debian's chromium at 390×844; every page of the
// journey is checked with axe-core (no serious or critical violation) and photographed.
//
// Usage: node journey.mjs <scenario>   with FINEPAY_URL, FINEPAY_SANDBOX_TOKEN, FINEPAY_SHOTS set.
// Scenarios: journey-en, journey-zh, live, safety, no-script.

import { chromium } from "playwright-core";
import { PNG } from "pngjs";
import jsQR from "jsqr";
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const require = createRequire(import.meta.url);
const AXE = require.resolve("axe-core/axe.min.js");
const BASE = process.env.FINEPAY_URL;
const TOKEN = process.env.FINEPAY_SANDBOX_TOKEN;
const SHOTS = process.env.FINEPAY_SHOTS;
const scenario = process.argv[2];
if (!BASE || !TOKEN || !SHOTS || !scenario) {
  console.error("usage: FINEPAY_URL=… FINEPAY_SANDBOX_TOKEN=… FINEPAY_SHOTS=dir node journey.mjs <scenario>");
  process.exit(2);
}
const dir = join(SHOTS, scenario);
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });

// ---------- small helpers ----------

let step = 0;
const axeLog = [];
const fail = (msg) => { throw new Error(msg); };
const check = (cond, msg) => { if (!cond) fail(msg); };

async function shot(page, name) {
  step += 1;
  const file = join(dir, `${String(step).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** axe-core on the page as it is: serious or critical violations fail the test. */
async function axe(page, name) {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5) }));
  });
  const bad = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  axeLog.push({ page: name, url: page.url(), violations: result.length, serious_or_critical: bad });
  check(bad.length === 0, `axe on ${name} (${page.url()}): ${JSON.stringify(bad, null, 1)}`);
}

/** Photograph and axe-check the page: every page of the journey goes through here. */
async function look(page, name) {
  await page.waitForLoadState("load");
  // Photograph and check the page at rest, not halfway through an animation.
  await page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== "running"));
  await shot(page, name);
  await axe(page, name);
}

async function text(page) {
  return page.locator("main").innerText();
}

async function sandbox(method, path, body) {
  const res = await fetch(BASE + path, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json().catch(() => null);
  if (res.status >= 300 && res.status !== 409) fail(`sandbox ${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function api(method, path, token, body, key) {
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  if (key) headers["idempotency-key"] = key;
  const res = await fetch(BASE + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  return { status: res.status, body: await res.json().catch(() => null) };
}

let serial = Date.now() % 100000;
const uniquePhone = () => `137${String(process.pid % 10000).padStart(4, "0")}${String(serial++ % 10000).padStart(4, "0")}`;

/** A valid resident ID number (GB 11643 check) for a serial. */
function idNumber(n) {
  const body = `11010519900${String(1 + (n % 9))}${String(10 + (n % 18)).padStart(2, "0")}${String(n % 1000).padStart(3, "0")}`.slice(0, 17);
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...body].reduce((s, c, i) => s + Number(c) * w[i], 0);
  return body + "10X98765432"[sum % 11];
}

/** A plate of a city (`prefix` is its province character and letter, e.g. 粤A) not used before. */
function randomPlate(prefix) {
  serial++;
  return `${prefix}${String((serial * 7919 + process.pid) % 100000).padStart(5, "0")}`;
}

/** A vehicle in the authority's register and a red-light decision (1625, ¥200, 6 points). */
async function decisionFor(plate, city, owner = "王小明") {
  await sandbox("POST", "/sandbox/v1/vehicles", { plate, vin: "LSVAM4187C2184847", owner_name: owner, owner_id_number: idNumber(7), city_code: city });
  const v = await sandbox("POST", "/sandbox/v1/violations", { city_code: city, plate, code: "1625", occurred_at: "2026-01-05T08:30:00Z", location: city === "110000" ? "长安街与王府井大街交叉口" : "延安东路外滩路口" });
  const d = await sandbox("POST", `/sandbox/v1/violations/${v.id}/decision`, {});
  return d.decision_number;
}

/** A registered user with a session token for the API (setup only; the journey logs in by UI). */
async function apiUser(name = "李小龙") {
  const phone = uniquePhone();
  const password = "correct horse";
  const r = await fetch(BASE + "/api/v1/users", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ phone, password, name, id_number: idNumber(serial++) }) });
  check(r.status === 201, `register ${r.status}`);
  const s = await (await fetch(BASE + "/api/v1/sessions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ phone, password }) })).json();
  return { phone, password, token: s.token };
}

async function login(page, user, labels) {
  await page.goto(BASE + "/login");
  await page.getByLabel(labels.phone, { exact: true }).fill(user.phone);
  await page.getByLabel(labels.password, { exact: true }).fill(user.password);
  await page.getByRole("button", { name: labels.login, exact: true }).click();
  await page.waitForURL((u) => !u.pathname.startsWith("/login"));
}

async function qrUrl(page) {
  const qr = page.locator("[data-qr]");
  await qr.evaluate((e) => { e.style.width = "360px"; e.style.height = "360px"; e.style.flexBasis = "360px"; });
  const png = PNG.sync.read(await qr.screenshot());
  const code = jsQR(Uint8ClampedArray.from(png.data), png.width, png.height);
  check(code && code.data, "the QR code on the receipt could not be read");
  return code.data;
}

function pdfText(file) {
  return execFileSync("pdftotext", ["-layout", file, "-"], { encoding: "utf8" });
}

const EN = { phone: "Phone", password: "Password", name: "Name", id: "ID number", login: "Log in", register: "Register", number: "Penalty decision number", lookup: "Look up", plate: "Licence plate", balance: "Balance", credit: "Credit line", card: (l) => `Card ending ${l}`, pay: "Pay", paid: "Already paid", genuine: "Genuine receipt", notGenuine: "Not a genuine receipt", pdf: "Download PDF", bind: "Bind", vin: "Last six of the VIN", service: "Traffic Violation Payment", search: "violation payment", confirmed: "Confirmed by", city: "北京", start: "Start now", receipt: "View the receipt", cardNumber: "Card number", holder: "Name on the card", linkCard: "Link card", topUp: "Top up", topUpAmount: "Amount to top up (yuan)" };
const ZH = { phone: "手机号", password: "密码", name: "姓名", id: "身份证号", login: "登录", register: "注册", number: "处罚决定书编号", lookup: "查询", plate: "号牌号码", balance: "余额", credit: "信用支付", card: (l) => `尾号${l}的银行卡`, pay: "支付", paid: "已缴款", genuine: "回单真实有效", notGenuine: "回单无效", pdf: "下载PDF", bind: "绑定", vin: "车架号后六位", service: "交通违法缴款", search: "交通违法", confirmed: "交警已确认", city: "上海", start: "立即办理", receipt: "查看电子回单", cardNumber: "卡号", holder: "持卡人姓名", linkCard: "添加银行卡", topUp: "充值", topUpAmount: "充值金额（元）" };

// ---------- scenarios ----------

/** From the home-page search to a paid fine, its receipt, the PDF and the QR code's page. */
async function journey(browser, lang) {
  const L = lang === "zh" ? ZH : EN;
  const city = lang === "zh" ? "310000" : "110000";
  const plate = randomPlate(lang === "zh" ? "沪A" : "京A");
  const number = await decisionFor(plate, city);
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: lang === "zh" ? "zh-CN" : "en-GB" });
  const page = await context.newPage();

  await page.goto(BASE + "/");
  check((await page.getAttribute("html", "lang")) === (lang === "zh" ? "zh-Hans" : "en"), "Accept-Language chooses the page's language");
  if (lang === "zh") {
    // The machine's CJK fonts are hidden from this browser: Chinese is drawn with finepay's own.
    const served = await page.evaluate(() => document.fonts.ready.then((set) => [...set].some((f) => f.family.includes("Finepay CJK") && f.status === "loaded")));
    check(served, "the embedded CJK font is served and used for Chinese");
  }
  await look(page, "home");

  // Register (the search needs no account; paying does, so register first as a new user would when asked).
  await page.goto(BASE + "/register");
  await look(page, "register");
  const phone = uniquePhone();
  await page.getByLabel(L.name, { exact: true }).fill("张三丰");
  await page.getByLabel(L.id, { exact: true }).fill(idNumber(serial++));
  await page.getByLabel(L.phone, { exact: true }).fill(phone);
  await page.getByLabel(L.password, { exact: true }).fill("correct horse");
  await page.getByRole("button", { name: L.register, exact: true }).click();
  await page.waitForURL(BASE + "/");

  // Wallet: link a card and top up, through the pages.
  await page.goto(BASE + "/wallet");
  await page.getByLabel(L.cardNumber, { exact: true }).fill("6222020000000000018");
  await page.getByLabel(L.holder, { exact: true }).fill("张三丰");
  await page.getByRole("button", { name: L.linkCard, exact: true }).click();
  await page.waitForURL(BASE + "/wallet");
  await page.getByLabel(L.topUpAmount, { exact: true }).fill("500");
  await page.getByRole("button", { name: L.topUp, exact: true }).click();
  await page.waitForLoadState("load");
  check((await text(page)).includes("¥500.00"), "the balance shows ¥500.00 after the top-up");
  await look(page, "wallet");

  // Home → search → the service → Start.
  await page.goto(BASE + "/");
  await page.getByRole("searchbox").fill(L.search);
  await page.getByRole("searchbox").press("Enter");
  await page.waitForURL(/\/search\?/);
  await look(page, "search");
  await page.getByRole("link", { name: new RegExp(L.service) }).first().click();
  await page.waitForURL(/\/services\/traffic-fine-payment/);
  await look(page, "service");
  await page.getByRole("link", { name: L.start, exact: true }).click();
  await page.waitForURL(/\/fines$/);

  // The number, typed with feedback as you type: first a mistyped check digit, then the right one.
  const field = page.getByLabel(L.number, { exact: true });
  const wrong = number.slice(0, 15) + String((Number(number[15]) + 1) % 10);
  await field.pressSequentially(wrong, { delay: 5 });
  await page.waitForFunction(() => document.querySelector("[data-number-live]")?.classList.contains("bad"));
  check((await field.inputValue()).includes(" "), "the number is grouped as you type");
  await look(page, "fines-typo");
  await field.fill("");
  await field.pressSequentially(number, { delay: 5 });
  await page.waitForFunction(() => document.querySelector("[data-number-live]")?.classList.contains("ok"));
  await look(page, "fines");
  await page.getByRole("button", { name: L.lookup, exact: true }).click();
  await page.waitForURL(new RegExp(`/fines/${number}$`));
  const details = await text(page);
  for (const want of ["¥200.00", "¥0.00", plate.slice(0, 2) + "***" + plate.slice(-2), "**明"]) {
    check(details.includes(want), `the decision page shows ${want}`);
  }
  check(await page.locator(".warning").isVisible(), "a plate not bound to the payer is warned about");
  await look(page, "decision");

  // Confirm the plate, choose the balance (in Chinese: the credit line, repaid below), pay.
  await page.getByLabel(L.plate, { exact: true }).fill(plate);
  await page.getByLabel(lang === "zh" ? L.credit : L.balance, { exact: true }).check();
  await page.getByRole("button", { name: L.pay, exact: true }).click();
  await page.waitForURL(/\/payments\/pay_/);
  await look(page, "paid");
  // The authority's confirmation arrives live (no reload).
  await page.evaluate(() => { window.__stayed = true; });
  await page.locator("[data-authority-status]", { hasText: L.confirmed }).waitFor({ timeout: 15000 });
  check(await page.evaluate(() => window.__stayed === true), "the status changed without a reload");
  await shot(page, "confirmed");

  // Bookmark the service for next time; it is pinned on home.
  await page.locator("form.bookmark button").click();
  await page.waitForLoadState("load");
  await page.goto(BASE + "/");
  check((await page.locator("#fav-h").count()) === 1, "favourites show on home");
  await look(page, "home-favourite");

  // The receipt, its QR code and the verification page.
  await page.goto(BASE + "/payments");
  await look(page, "payments");
  await page.locator(".rows a").first().click();
  await page.getByRole("link", { name: L.receipt, exact: true }).click();
  await page.waitForURL(/\/receipts\/rcp_/);
  const receiptUrl = page.url();
  const receiptText = await text(page);
  check(receiptText.includes("¥200.00") && receiptText.includes(L.city), "the receipt shows the amount and the city");
  await look(page, "receipt");
  const verifyUrl = await qrUrl(page);
  check(verifyUrl.startsWith(BASE + "/verify/"), `the QR code holds the verification page's absolute URL: ${verifyUrl}`);

  // The PDF: one file, Chinese city name and amounts as text.
  const pdf = await page.request.get(receiptUrl + ".pdf");
  check(pdf.status() === 200 && pdf.headers()["content-type"] === "application/pdf", "the receipt PDF is served");
  const pdfFile = join(dir, "receipt.pdf");
  writeFileSync(pdfFile, await pdf.body());
  const printed = pdfText(pdfFile);
  for (const want of [L.city, "¥200.00", "¥0.00", number]) check(printed.includes(want), `the PDF text holds ${want}:\n${printed}`);
  // The PDF's own QR code opens the same verification page.
  execFileSync("pdftoppm", ["-png", "-r", "150", "-singlefile", pdfFile, join(dir, "receipt-pdf")]);
  const pdfPng = PNG.sync.read(readFileSync(join(dir, "receipt-pdf.png")));
  const pdfQr = jsQR(Uint8ClampedArray.from(pdfPng.data), pdfPng.width, pdfPng.height);
  check(pdfQr && pdfQr.data === verifyUrl, `the PDF's QR code holds the verification URL: ${pdfQr && pdfQr.data}`);
  check((await page.getByRole("link", { name: L.pdf, exact: true }).count()) === 1, "the receipt page links its PDF");

  // Anyone (no session) can verify it.
  const stranger = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: lang === "zh" ? "zh-CN" : "en-GB" });
  const other = await stranger.newPage();
  await other.goto(verifyUrl);
  check((await other.locator("h1").innerText()).includes(L.genuine), "the QR code opens Genuine receipt");
  check((await text(other)).includes("¥200.00"), "the verification page shows the amount");
  await look(other, "verify");
  await stranger.close();

  if (lang === "zh") {
    // The credit line owes ¥200.00; repay it from the balance on the wallet page.
    await page.goto(BASE + "/wallet");
    check((await text(page)).includes("待还") && (await text(page)).includes("¥200.00"), "the credit line owes the fine");
    await page.getByLabel("还款金额（元）", { exact: true }).fill("200");
    await page.getByLabel("还款来源", { exact: true }).selectOption("balance");
    await page.getByRole("button", { name: "还款", exact: true }).click();
    await page.waitForLoadState("load");
    check((await text(page)).includes("还款成功"), "the repayment is confirmed");
    await look(page, "wallet-repaid");
    const w = await page.locator("main").innerText();
    check(w.includes("¥300.00"), "the balance paid the repayment: ¥300.00 left");
  }

  // The language is switched with the link and remembered.
  await page.goto(BASE + "/vehicles");
  await look(page, "vehicles");
  await page.goto(BASE + "/notifications");
  await look(page, "notifications");
  const otherLang = lang === "zh" ? "English" : "中文";
  await page.getByRole("link", { name: otherLang, exact: true }).click();
  await page.waitForLoadState("load");
  const switched = lang === "zh" ? "en" : "zh-Hans";
  check((await page.getAttribute("html", "lang")) === switched, "?lang= switches the language");
  await page.goto(BASE + "/citizen-center");
  check((await page.getAttribute("html", "lang")) === switched, "the chosen language is remembered");
  await look(page, "citizen-center-other-language");
  await context.close();
}

/** Bind a plate, keep the inbox open, a new decision arrives live, pay it from the notification. */
async function live(browser) {
  const L = EN;
  const user = await apiUser();
  const card = await api("POST", "/api/v1/cards", user.token, { number: "6222020000000000018", holder_name: "李小龙" });
  check(card.status === 201, "card linked");
  const plate = randomPlate("粤A");
  await sandbox("POST", "/sandbox/v1/vehicles", { plate, vin: "LSVAM4187C2184847", owner_name: "李小龙", owner_id_number: idNumber(3), city_code: "440100" });
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: "en-GB" });
  const page = await context.newPage();
  await login(page, user, L);

  await page.goto(BASE + "/vehicles");
  await page.getByLabel(L.plate, { exact: true }).fill(plate);
  await page.getByLabel(L.vin, { exact: true }).fill("184847");
  await page.getByRole("button", { name: L.bind, exact: true }).click();
  await page.waitForURL(BASE + "/vehicles");
  check((await text(page)).includes(plate), "the bound plate is listed");
  await look(page, "vehicles-bound");

  await page.goto(BASE + "/notifications");
  await page.evaluate(() => { window.__stayed = true; });
  const before = await page.locator("[data-notification]").count();
  // A new violation and its decision, recorded by the authority while the inbox is open.
  const v = await sandbox("POST", "/sandbox/v1/violations", { city_code: "440100", plate, code: "1625", occurred_at: "2026-01-05T08:30:00Z", location: "天河路与体育东路交叉口" });
  const d = await sandbox("POST", `/sandbox/v1/violations/${v.id}/decision`, {});
  const payLink = page.locator(`a[href="/fines/${d.decision_number}"]`);
  await payLink.first().waitFor({ timeout: 15000 });
  check(await page.evaluate(() => window.__stayed === true), "the notification arrived without a reload");
  check((await page.locator("[data-notification]").count()) > before, "a new notification is in the inbox");
  await look(page, "inbox-live");
  // Rendered afresh, the unread ones offer "Mark all as read"; it empties the unread count.
  await page.reload();
  await look(page, "inbox-unread");
  await page.getByRole("button", { name: "Mark all as read", exact: true }).click();
  await page.waitForURL(BASE + "/notifications");
  check(await page.getByRole("button", { name: "Mark all as read", exact: true }).count() === 0, "nothing is unread after marking all read");
  const unread = await api("GET", "/api/v1/notifications", user.token);
  check(unread.body.unread === 0, `unread after mark all: ${unread.body.unread}`);

  await payLink.first().click();
  await page.waitForURL(new RegExp(`/fines/${d.decision_number}$`));
  check((await page.locator(".warning").count()) === 0, "no warning for the user's own bound plate");
  await page.getByLabel(L.plate, { exact: true }).fill(plate);
  await page.getByLabel(L.card("0018"), { exact: true }).check();
  await page.getByRole("button", { name: L.pay, exact: true }).click();
  await page.waitForURL(/\/payments\/pay_/);
  await page.locator("[data-authority-status]", { hasText: L.confirmed }).waitFor({ timeout: 15000 });
  await look(page, "paid-from-notification");
  await context.close();
}

/** Double submit, back button, forged links, CSRF, and the errors of the journey. */
async function safety(browser) {
  const L = EN;
  const user = await apiUser();
  const card = await api("POST", "/api/v1/cards", user.token, { number: "6222020000000000018", holder_name: "李小龙" });
  const top = await api("POST", "/api/v1/wallet/top-ups", user.token, { card_id: card.body.id, amount: 30000 }, `top-${user.phone}`);
  check(top.status === 201, "topped up");
  const plate = randomPlate("浙A");
  const number = await decisionFor(plate, "330100");
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: "en-GB" });
  const page = await context.newPage();
  await login(page, user, L);

  // Errors say what to do next: a wrong plate, then not enough balance for a second fine.
  await page.goto(BASE + `/fines/${number}`);
  await page.getByLabel(L.plate, { exact: true }).fill("浙A00000");
  await page.getByLabel(L.balance, { exact: true }).check();
  await page.getByRole("button", { name: L.pay, exact: true }).click();
  await page.waitForLoadState("load");
  check((await text(page)).includes("The plate does not match"), "plate mismatch is explained");
  check((await page.getByLabel(L.plate, { exact: true }).inputValue()) === "浙A00000", "what was typed is kept");
  await look(page, "error-plate");

  // A tampered amount (as if it changed since the page was shown) is refused, nothing charged.
  await page.getByLabel(L.plate, { exact: true }).fill(plate);
  await page.locator("input[name=amount]").evaluate((e) => { e.value = "19000"; });
  await page.getByRole("button", { name: L.pay, exact: true }).click();
  await page.waitForLoadState("load");
  check((await text(page)).includes("The amount due changed"), "amount changed is explained");
  await shot(page, "error-amount-changed");

  // Double-click Pay: one payment. Then the same form sent twice more at once: still one.
  await page.getByLabel(L.plate, { exact: true }).fill(plate);
  await page.getByLabel(L.balance, { exact: true }).check();
  const form = await page.locator("[data-pay-form]").evaluate((f) => Object.fromEntries(new FormData(f)));
  await page.getByRole("button", { name: L.pay, exact: true }).dblclick();
  await page.waitForURL(/\/payments\/pay_/);
  const paymentUrl = page.url();
  const replays = await Promise.all([0, 1].map(() => page.request.post(BASE + `/fines/${number}/pay`, { form, headers: { origin: BASE } })));
  for (const r of replays) check(r.url() === paymentUrl, `the same form lands on the same payment: ${r.url()} vs ${paymentUrl}`);
  const list = await api("GET", "/api/v1/payments", user.token);
  const mine = list.body.data.filter((p) => p.decision_number === number);
  check(mine.length === 1, `one payment for the decision, not ${mine.length}`);
  const wallet = await api("GET", "/api/v1/wallet", user.token);
  check(wallet.body.balance === 10000, `charged once: balance ${wallet.body.balance}`);

  // Back to the decision: it says Already paid and offers no Pay button; a fresh form says so too.
  await page.goBack();
  await page.waitForLoadState("load");
  check((await text(page)).includes(L.paid), "going back shows Already paid");
  check((await page.getByRole("button", { name: L.pay, exact: true }).count()) === 0, "no Pay button on a paid decision");
  await look(page, "already-paid");
  const again = await page.request.post(BASE + `/fines/${number}/pay`, { form: { ...form, idempotency_key: "web-another-form" }, headers: { origin: BASE } });
  check((await again.text()).includes(L.paid), "paying again with a new form says already paid");

  // Not enough balance (¥100 left, fine ¥200), then a declined card.
  const second = await decisionFor(randomPlate("浙A"), "330100");
  const secondPlate = (await sandbox("GET", `/sandbox/v1/decisions/${second}`)).plate;
  const declined = await api("POST", "/api/v1/cards", user.token, { number: "6222020000000000026", holder_name: "李小龙" });
  check(declined.status === 201, "the no-funds card links");
  await page.goto(BASE + `/fines/${second}`);
  const shownPlate = secondPlate || plate;
  await page.getByLabel(L.plate, { exact: true }).fill(shownPlate);
  await page.getByLabel(L.balance, { exact: true }).check();
  await page.getByRole("button", { name: L.pay, exact: true }).click();
  await page.waitForLoadState("load");
  check((await text(page)).includes("is not enough"), "insufficient balance is explained");
  await look(page, "error-balance");
  await page.getByLabel(L.plate, { exact: true }).fill(shownPlate);
  await page.getByLabel(L.card("0026"), { exact: true }).check();
  await page.getByRole("button", { name: L.pay, exact: true }).click();
  await page.waitForLoadState("load");
  check((await text(page)).includes("declined the card"), "a declined card is explained");
  await shot(page, "error-declined");

  // An authority that is down, for a decision never looked up: said plainly, nothing charged.
  const unseen = await decisionFor(randomPlate("川A"), "510100");
  await sandbox("PUT", "/sandbox/v1/authorities/510100/mode", { mode: "down" });
  await page.goto(BASE + `/fines/${unseen}`);
  check((await text(page)).includes("can't be reached"), "an unreachable authority is explained");
  await look(page, "error-authority-down");
  await sandbox("PUT", "/sandbox/v1/authorities/510100/mode", { mode: "up" });

  // A forged verification link says Not a genuine receipt.
  await page.goto(paymentUrl);
  await page.getByRole("link", { name: L.receipt, exact: true }).click();
  await page.waitForURL(/\/receipts\/rcp_/);
  const verifyUrl = await page.locator("[data-verify-link]").getAttribute("href");
  const last = verifyUrl.slice(-1);
  const forged = verifyUrl.slice(0, -1) + (last === "A" ? "B" : "A");
  await page.goto(forged);
  check((await page.locator("h1").innerText()).includes(L.notGenuine), "a forged link is not genuine");
  await look(page, "verify-forged");
  await page.goto(BASE + "/verify/rcp_0000/AAAAAAAAAAAAAAAAAAAAAA");
  check((await page.locator("h1").innerText()).includes(L.notGenuine), "an unknown receipt is not genuine");

  // A POST without its CSRF token, or from another site, is refused: forms that would otherwise
  // pay the second decision by credit line (¥2,000 available), so a hole would charge.
  await page.goto(BASE + `/fines/${second}`);
  const good = await page.locator("[data-pay-form]").evaluate((f) => Object.fromEntries(new FormData(f)));
  const payable = { ...good, confirm_plate: shownPlate, method: "credit" };
  const { csrf, ...noToken } = payable;
  check(csrf && csrf.length > 20, "the pay form carries a CSRF token");
  const refused = await page.request.post(BASE + `/fines/${second}/pay`, { form: noToken, headers: { origin: BASE } });
  check(refused.status() === 403, `a POST without the CSRF token is refused: ${refused.status()}`);
  const crossSite = await page.request.post(BASE + `/fines/${second}/pay`, { form: payable, headers: { origin: "https://evil.example" } });
  check(crossSite.status() === 403, `a cross-site POST is refused: ${crossSite.status()}`);
  const wrongToken = await page.request.post(BASE + `/fines/${second}/pay`, { form: { ...payable, csrf: csrf.slice(0, -2) + "xx" }, headers: { origin: BASE } });
  check(wrongToken.status() === 403, `a POST with a wrong CSRF token is refused: ${wrongToken.status()}`);
  const after = await api("GET", "/api/v1/payments", user.token);
  check(after.body.data.filter((p) => p.decision_number === second && p.status === "succeeded").length === 0, "refused posts charged nothing");
  // The very same form with its token pays: the refusals above were the token's doing.
  const accepted = await page.request.post(BASE + `/fines/${second}/pay`, { form: payable, headers: { origin: BASE } });
  check(/\/payments\/pay_/.test(accepted.url()), `the form with its token pays: ${accepted.url()}`);
  await context.close();
}

/** The pay journey with JavaScript off, and the pages at 1280 px. */
async function noScript(browser) {
  const L = EN;
  const user = await apiUser();
  const card = await api("POST", "/api/v1/cards", user.token, { number: "6222020000000000018", holder_name: "李小龙" });
  await api("POST", "/api/v1/wallet/top-ups", user.token, { card_id: card.body.id, amount: 20000 }, `top-${user.phone}`);
  const plate = randomPlate("粤B");
  const number = await decisionFor(plate, "440300");
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: "en-GB", javaScriptEnabled: false });
  const page = await context.newPage();
  await login(page, user, L);
  await page.goto(BASE + "/fines");
  await page.getByLabel(L.number, { exact: true }).fill(number.replace(/(\d{4})/g, "$1 ").trim());
  await page.getByRole("button", { name: L.lookup, exact: true }).click();
  await page.waitForURL(new RegExp(`/fines/${number}$`));
  await page.getByLabel(L.plate, { exact: true }).fill(plate);
  await page.getByLabel(L.balance, { exact: true }).check();
  await page.getByRole("button", { name: L.pay, exact: true }).click();
  await page.waitForURL(/\/payments\/pay_/);
  check((await text(page)).includes("Payment successful"), "paid without JavaScript");
  // Without JavaScript the page shows the current state on reload.
  const deadline = Date.now() + 15000;
  while (!(await text(page)).includes(L.confirmed)) {
    check(Date.now() < deadline, "the authority's confirmation shows on reload");
    await page.waitForTimeout(300);
    await page.reload();
  }
  // No script runs in this context, so axe cannot either: these are photographed, and the same
  // pages are checked by axe in the other scenarios and at 1280 px below.
  await shot(page, "paid-no-js");
  await page.getByRole("link", { name: L.receipt, exact: true }).click();
  await page.waitForURL(/\/receipts\/rcp_/);
  const receiptUrl = page.url();
  await shot(page, "receipt-no-js");
  await context.close();

  // The same pages on a desktop screen.
  const wide = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "en-GB" });
  const desk = await wide.newPage();
  await login(desk, user, L);
  await desk.goto(receiptUrl);
  await look(desk, "receipt-1280");
  await desk.goto(BASE + "/");
  await look(desk, "home-1280");
  await desk.goto(BASE + `/fines/${number}`);
  check((await text(desk)).includes(L.paid), "the paid decision says so");
  await look(desk, "decision-paid-1280");
  await wide.close();
}

/**
 * For the Chinese journey: a fontconfig that hides the machine's CJK fonts, so the pages must
 * draw Chinese with the font finepay serves itself (the journey then checks it was loaded).
 */
function fontconfigWithoutCjk() {
  const cjk = /cjk|droid|wqy|arphic|uming|ukai|han|noto\/?$/i;
  const dirs = [];
  for (const root of ["/usr/share/fonts/truetype", "/usr/share/fonts/opentype"]) {
    let entries = [];
    try { entries = readdirSync(root); } catch { continue; }
    for (const e of entries) if (!cjk.test(e) && !(root.endsWith("opentype") && e === "noto")) dirs.push(join(root, e));
  }
  const file = join(dir, "fonts.conf");
  writeFileSync(file, `<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>${dirs.map((d) => `<dir>${d}</dir>`).join("")}<include ignore_missing="yes">/etc/fonts/conf.d</include><cachedir>${join(dir, "fontcache")}</cachedir></fontconfig>`);
  return file;
}

/** The operators' page: a citizen is turned away with 403; an operator sees the day's figures. */
async function admin(browser) {
  const citizen = await apiUser();
  const card = await api("POST", "/api/v1/cards", citizen.token, { number: "6222020000000000018", holder_name: "李小龙" });
  check(card.status === 201, `card linked: ${card.status}`);
  const plate = randomPlate("京A");
  const number = await decisionFor(plate, "110000");
  const paid = await api("POST", "/api/v1/payments", citizen.token, { decision_number: number, amount: 20000, confirm_plate: plate, method: { type: "card", card_id: card.body.id } }, `admin-${number}`);
  check(paid.status === 201, `paid: ${paid.status} ${JSON.stringify(paid.body)}`);
  const operator = { phone: process.env.FINEPAY_OPERATOR_PHONE, password: process.env.FINEPAY_OPERATOR_PASSWORD };
  // The authority confirms within seconds; the page then shows nothing pending for Beijing.
  let confirmed = false;
  for (let i = 0; i < 200 && !confirmed; i++) {
    const p = await api("GET", `/api/v1/payments/${paid.body.id}`, citizen.token);
    confirmed = p.body.authority_status === "confirmed";
    if (!confirmed) await new Promise((r) => setTimeout(r, 50));
  }
  check(confirmed, "the authority confirms the payment within 10 s");
  const opToken = (await sessionOf(operator)).token;
  const date = shanghaiDate(paid.body.created_at);
  const settled = await api("POST", "/api/v1/admin/settlements", opToken, { city_code: "110000", date });
  check(settled.status === 201, `settled: ${settled.status} ${JSON.stringify(settled.body)}`);
  const reconciled = await api("POST", "/api/v1/admin/reconciliations", opToken, { city_code: "110000", date, mend: false });
  check(reconciled.status === 200 && reconciled.body.matched === 1, `reconciled: ${reconciled.status} ${JSON.stringify(reconciled.body)}`);

  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: "en-GB" });
  const page = await context.newPage();
  await login(page, citizen, EN);
  const refused = await page.goto(BASE + "/admin");
  check(refused.status() === 403, `a citizen gets 403 on /admin, not ${refused.status()}`);
  check((await text(page)).includes("For operators only"), "the 403 page says who it is for");
  await look(page, "admin-forbidden");

  const opContext = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: "en-GB" });
  const op = await opContext.newPage();
  await login(op, operator, EN);
  const shown = await op.goto(BASE + "/admin");
  check(shown.status() === 200, `an operator gets /admin: ${shown.status()}`);
  const beijing = op.locator('[data-city="110000"]');
  check((await beijing.locator('[data-field="payments"]').innerText()).trim() === "1", "Beijing shows today's one payment");
  check((await beijing.locator('[data-field="amount"]').innerText()).includes("200.00"), "Beijing shows ¥200.00 collected");
  check((await beijing.locator('[data-field="pending"]').innerText()).trim() === "0", "nothing waits for Beijing's authority");
  const settlement = await beijing.locator('[data-field="settlement"]').innerText();
  check(settlement.includes("200.00") && settlement.includes("accepted by the authority"), `Beijing's last settlement is shown: ${settlement}`);
  const reconciliation = await beijing.locator('[data-field="reconciliation"]').innerText();
  check(reconciliation.includes("1 matched") && reconciliation.includes("everything matches"), `Beijing's last reconciliation is shown: ${reconciliation}`);
  check(await op.locator("svg.chart rect.bar").count() === 60, "the chart has a bar per minute of the last hour");
  const tallest = await op.locator("svg.chart rect.bar").evaluateAll((rs) => Math.max(...rs.map((r) => Number(r.getAttribute("height")))));
  check(tallest > 0, "this minute's payment shows in the chart");
  await look(op, "admin-en");
  await op.goto(BASE + "/admin?lang=zh");
  const zh = await text(op);
  check(zh.includes("运营") && zh.includes("北京") && zh.includes("交管部门已确认"), "the page reads in Chinese");
  await look(op, "admin-zh");
}

async function sessionOf(user) {
  const r = await fetch(BASE + "/api/v1/sessions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ phone: user.phone, password: user.password }) });
  check(r.status === 201, `session ${r.status}`);
  return r.json();
}

/** The Asia/Shanghai date of an RFC 3339 instant. */
function shanghaiDate(at) {
  return new Date(Date.parse(at) + 8 * 3600 * 1000).toISOString().slice(0, 10);
}

// ---------- run ----------

const env = { ...process.env };
if (scenario === "journey-zh") env.FONTCONFIG_FILE = fontconfigWithoutCjk();
const browser = await chromium.launch({
  env,
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let code = 0;
try {
  if (scenario === "journey-en") await journey(browser, "en");
  else if (scenario === "journey-zh") await journey(browser, "zh");
  else if (scenario === "live") await live(browser);
  else if (scenario === "safety") await safety(browser);
  else if (scenario === "no-script") await noScript(browser);
  else if (scenario === "admin") await admin(browser);
  else fail(`unknown scenario ${scenario}`);
  console.log(`${scenario}: ok, ${step} screenshots in ${dir}`);
} catch (e) {
  code = 1;
  console.error(`${scenario}: FAILED at step ${step}: ${e.stack || e}`);
  for (const ctx of browser.contexts()) for (const p of ctx.pages()) await p.screenshot({ path: join(dir, "failure.png"), fullPage: true }).catch(() => {});
} finally {
  writeFileSync(join(dir, "axe.json"), JSON.stringify(axeLog, null, 2));
  await browser.close();
}
process.exit(code);
