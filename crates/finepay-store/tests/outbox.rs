//! Outbox claims by delivery group (kind and city): a dispatcher task claims its own group's next
//! rows, and the dispatcher skips the groups its tasks hold.
#![allow(clippy::unwrap_used)]

use finepay_store::repo::outbox::{self, Groups};
use finepay_store::{Db, DbLocation, WriterConfig};

const EARLY: &str = "2026-01-01T00:00:00.000Z";
const NOW: &str = "2026-01-01T00:00:10.000Z";
const LEASE: &str = "2026-01-01T00:00:25.000Z";

#[tokio::test]
async fn claims_take_only_their_groups_and_a_claimed_row_is_not_claimed_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(
        &DbLocation::Sqlite(dir.path().join("o.db")),
        WriterConfig::default(),
    )
    .unwrap();
    let claimed = db
        .writer()
        .run(|c| {
            for (kind, city, id) in [
                ("payment_notice", "110000", "p1"),
                ("payment_notice", "110000", "p2"),
                ("payment_notice", "310000", "p3"),
                ("event", "110000", "p4"),
            ] {
                outbox::enqueue(c, kind, city, id, "{}", EARLY)?;
            }
            let busy = [("payment_notice".to_string(), "110000".to_string())];
            let others = outbox::claim_due(c, NOW, LEASE, 100, Groups::Except(&busy))?;
            let beijing =
                outbox::claim_due(c, NOW, LEASE, 100, Groups::Only("payment_notice", "110000"))?;
            let again = outbox::claim_due(c, NOW, LEASE, 100, Groups::Except(&[]))?;
            Ok::<_, finepay_store::StoreError>((others, beijing, again))
        })
        .await
        .unwrap()
        .unwrap();
    let ids = |rows: &[outbox::OutboxRow]| {
        let mut v: Vec<String> = rows.iter().map(|r| r.payment_id.clone()).collect();
        v.sort();
        v
    };
    assert_eq!(ids(&claimed.0), ["p3", "p4"]);
    assert_eq!(ids(&claimed.1), ["p1", "p2"]);
    assert!(
        claimed.2.is_empty(),
        "all four are leased: {:?}",
        ids(&claimed.2)
    );
}
