//! Outbox claims by delivery group (kind and city): the dispatcher asks which groups have due
//! rows, and each group's task claims its own rows, oldest first, leased against a second claim.
#![allow(clippy::unwrap_used)]

use finepay_store::repo::outbox;
use finepay_store::{Db, DbLocation, StoreError, WriterConfig};

const EARLY: &str = "2026-01-01T00:00:00.000Z";
const NOW: &str = "2026-01-01T00:00:10.000Z";
const LEASE: &str = "2026-01-01T00:00:25.000Z";

#[tokio::test]
async fn a_group_claims_only_its_own_due_rows_and_a_leased_row_is_not_claimed_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(
        &DbLocation::Sqlite(dir.path().join("o.db")),
        WriterConfig::default(),
    )
    .unwrap();
    let (groups, beijing, again, groups_after) = db
        .writer()
        .run(|c| {
            for (kind, city, id) in [
                (outbox::Kind::PaymentNotice, "110000", "p1"),
                (outbox::Kind::PaymentNotice, "110000", "p2"),
                (outbox::Kind::PaymentNotice, "310000", "p3"),
                (outbox::Kind::Event, "110000", "p4"),
            ] {
                outbox::enqueue(c, kind, city, id, "{}", EARLY)?;
            }
            let mut groups = outbox::due_groups(c, NOW)?;
            groups.sort_by_key(|(k, c)| (k.as_str(), c.clone()));
            let beijing =
                outbox::claim_due(c, NOW, LEASE, 100, outbox::Kind::PaymentNotice, "110000")?;
            let again =
                outbox::claim_due(c, NOW, LEASE, 100, outbox::Kind::PaymentNotice, "110000")?;
            let mut groups_after = outbox::due_groups(c, NOW)?;
            groups_after.sort_by_key(|(k, c)| (k.as_str(), c.clone()));
            Ok::<_, StoreError>((groups, beijing, again, groups_after))
        })
        .await
        .unwrap()
        .unwrap();
    let pair = |k: &str, c: &str| (outbox::Kind::parse(k).unwrap(), c.to_string());
    assert_eq!(
        groups,
        [
            pair("event", "110000"),
            pair("payment_notice", "110000"),
            pair("payment_notice", "310000")
        ]
    );
    let mut ids: Vec<&str> = beijing.iter().map(|r| r.payment_id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["p1", "p2"]);
    assert!(again.is_empty(), "both are leased until {LEASE}");
    assert_eq!(
        groups_after,
        [pair("event", "110000"), pair("payment_notice", "310000")]
    );
}
