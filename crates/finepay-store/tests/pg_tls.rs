//! SPEC §10: PostgreSQL URLs accept `sslmode`. Against the machine's PostgreSQL (whose
//! certificate is the Debian "snakeoil" one, signed by nobody): `require` encrypts, `verify-full`
//! refuses the unverifiable certificate, no `sslmode` stays plain.
#![allow(clippy::unwrap_used)]

use finepay_store::{PgConn, Sql};

fn base() -> String {
    std::env::var("FINEPAY_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

fn encrypted(conn: &PgConn) -> String {
    conn.query_one(
        "SELECT CASE WHEN ssl THEN 'yes' ELSE 'no' END AS ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        &[],
    )
    .unwrap()
    .text("ssl")
    .unwrap()
}

#[test]
fn sslmode_require_encrypts_verify_full_checks_the_certificate_and_none_stays_plain() {
    let db = format!("{}/postgres", base());
    let tls = PgConn::connect(&format!("{db}?sslmode=require")).unwrap();
    assert_eq!(encrypted(&tls), "yes", "sslmode=require speaks TLS");
    let plain = PgConn::connect(&db).unwrap();
    assert_eq!(encrypted(&plain), "no");
    let refused = PgConn::connect(&format!("{db}?sslmode=verify-full"));
    let err = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        err.contains("TLS handshake"),
        "verify-full must refuse a certificate nobody signed: {err}"
    );
    let bad = PgConn::connect(&format!("{db}?sslmode=sometimes"));
    assert!(bad
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
        .contains("sslmode=sometimes"));
}
