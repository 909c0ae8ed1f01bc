//! The operators' commands (SPEC §5): `admin grant`, `settle` and `reconcile`. They open the
//! database themselves (beside a running `serve`: SQLite's writer lock and PostgreSQL's
//! transactions keep both right) and reach the authorities named by the endpoints file that
//! `serve` writes into its data directory (or the one given with `--endpoints`).

use crate::authorities_of;
use anyhow::Context;
use chrono::NaiveDate;
use finepay_authority::endpoints;
use finepay_core::reconciliation::{Progress, ReconciliationReport};
use finepay_core::settlement::BatchView;
use finepay_core::{Authorities, Reconciliation, Settlement};
use finepay_domain::Fen;
use finepay_store::{Db, DbLocation, WriterConfig};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How long an operator's command waits for an authority's answer.
const AUTHORITY_TIMEOUT: Duration = Duration::from_secs(30);

/// The platform's database as `serve` made it: a missing SQLite file is an error here (a new
/// empty database would reconcile nothing and say all is well).
fn open_db(location: &DbLocation) -> anyhow::Result<Db> {
    if let DbLocation::Sqlite(path) = location {
        if !path.exists() {
            anyhow::bail!(
                "no database at {}: give the one `finepay serve` uses (--database or --data-dir)",
                path.display()
            );
        }
    }
    Db::open(location, WriterConfig::default())
        .with_context(|| format!("cannot open the database {location:?}"))
}

/// The deployment's cities: from `--endpoints`, else from the file `serve` keeps in its data
/// directory.
fn cities(data_dir: &Path, endpoints_file: Option<&Path>) -> anyhow::Result<Arc<Authorities>> {
    let path: PathBuf = endpoints_file
        .map(Path::to_path_buf)
        .unwrap_or_else(|| data_dir.join(endpoints::FILE_NAME));
    if !path.exists() {
        anyhow::bail!(
            "{} does not exist: start `finepay serve --data-dir {}` (it writes it), or name the authorities with --endpoints FILE",
            path.display(),
            data_dir.display()
        );
    }
    let found = endpoints::load(&path)?;
    Ok(Arc::new(authorities_of(&found, AUTHORITY_TIMEOUT)))
}

/// `finepay admin grant PHONE`.
pub async fn grant(location: &DbLocation, phone: &str) -> anyhow::Result<String> {
    let db = open_db(location)?;
    let user = finepay_core::admin::grant(&db, phone, "cli")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(user)
}

/// `finepay settle --city --date`.
pub async fn settle(
    location: &DbLocation,
    data_dir: &Path,
    endpoints_file: Option<&Path>,
    city: &str,
    date: NaiveDate,
) -> anyhow::Result<BatchView> {
    let authorities = cities(data_dir, endpoints_file)?;
    let settlement = Settlement::new(open_db(location)?, authorities);
    settlement
        .close(city, date, "cli")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// `finepay reconcile --city --date [--mend]`, with a progress bar on a terminal.
pub async fn reconcile(
    location: &DbLocation,
    data_dir: &Path,
    endpoints_file: Option<&Path>,
    city: &str,
    date: NaiveDate,
    mend: bool,
) -> anyhow::Result<(ReconciliationReport, Arc<Authorities>)> {
    let authorities = cities(data_dir, endpoints_file)?;
    let reconciliation = Reconciliation::new(open_db(location)?, authorities.clone());
    // Drawn only on a terminal (indicatif hides itself elsewhere), to standard error.
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} reconciling {msg} [{bar:30}] {pos}/{len} platform payments ({per_sec}, {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(format!("{city} {date}"));
    let shown = bar.clone();
    let progress = move |p: Progress| {
        shown.set_length(p.platform_total);
        shown.set_position(p.platform_read.min(p.platform_total));
    };
    let report = reconciliation
        .run(city, date, mend, "cli", &progress)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"));
    bar.finish_and_clear();
    Ok((report?, authorities))
}

/// The report for a person: what was compared, the totals, and each discrepancy.
pub fn readable(report: &ReconciliationReport, authorities: &Authorities) -> String {
    let city = authorities.city_view(&report.city_code);
    let money = |fen: i64| Fen::from_fen(fen).to_string();
    let mut out = format!(
        "Reconciliation of {} {} ({}) for {}\n",
        city.name, city.name_zh, report.city_code, report.date
    );
    out.push_str(&format!(
        "  platform:  {:>9} payments  {:>16} yuan\n  authority: {:>9} records   {:>16} yuan\n  matched:   {:>9}\n",
        report.platform_records,
        money(report.totals.platform),
        report.authority_records,
        money(report.totals.authority),
        report.matched
    ));
    let mended = report.discrepancies.iter().filter(|d| d.mended).count();
    out.push_str(&format!(
        "  discrepancies: {} ({mended} mended)\n",
        report.discrepancies.len() as u64 + report.not_listed
    ));
    for d in &report.discrepancies {
        let amount = |a: Option<i64>| a.map_or_else(|| "-".to_owned(), money);
        out.push_str(&format!(
            "    {:<22} {:<36} {}  platform {:>12}  authority {:>12}{}\n",
            d.kind.as_str(),
            d.payment_id.as_deref().unwrap_or("-"),
            d.decision_number,
            amount(d.platform_amount),
            amount(d.authority_amount),
            if d.mended { "  mended" } else { "" }
        ));
    }
    if report.not_listed > 0 {
        out.push_str(&format!(
            "    … and {} more not listed (see --json of a narrower run)\n",
            report.not_listed
        ));
    }
    let left = report.unresolved();
    if left == 0 {
        out.push_str("Everything matches.\n");
    } else {
        out.push_str(&format!(
            "{left} discrepancies remain: a person must look at them (missing_at_authority can be re-sent with --mend).\n"
        ));
    }
    out
}
