//! A revocation heard from the feed wins over a copy written after it (a lookup that fetched the
//! decision just before the authority revoked it).
#![allow(clippy::unwrap_used)]

use finepay_domain::{DecisionStatus, Fen};
use finepay_store::repo::decisions::{self, DecisionRow};
use finepay_store::{Db, DbLocation, StoreError, WriterConfig};

fn copy(number: &str, status: &str) -> DecisionRow {
    DecisionRow {
        number: number.into(),
        city_code: "110000".into(),
        status: DecisionStatus::parse(status).unwrap(),
        plate: "京A12345".into(),
        owner_name: "张三丰".into(),
        violation_json: "{}".into(),
        fine: Fen::from_fen(20_000),
        points: 6,
        issued_on: "2026-11-01".into(),
        fetched_at: "2026-11-27T00:00:00.000Z".into(),
    }
}

#[tokio::test]
async fn a_copy_written_after_the_revocation_still_reads_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(
        &DbLocation::Sqlite(dir.path().join("d.db")),
        WriterConfig::default(),
    )
    .unwrap();
    let (late, other) = db
        .writer()
        .run(|c| {
            // The feed hears of the revocation while no copy exists ...
            decisions::record_revocation(c, "1100000000000015", "2026-11-27T00:00:01.000Z")?;
            decisions::record_revocation(c, "1100000000000015", "2026-11-27T00:00:02.000Z")?;
            // ... then a lookup that fetched it a moment earlier keeps its copy.
            decisions::upsert_decision(c, &copy("1100000000000015", "unpaid"))?;
            decisions::upsert_decision(c, &copy("1100000000000023", "unpaid"))?;
            Ok::<_, StoreError>((
                decisions::find_decision(c, "1100000000000015")?,
                decisions::find_decision(c, "1100000000000023")?,
            ))
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(late.unwrap().status, DecisionStatus::Revoked);
    assert_eq!(other.unwrap().status, DecisionStatus::Unpaid);
}
