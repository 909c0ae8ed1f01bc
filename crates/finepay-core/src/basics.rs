//! What every use case needs and no module owns: new ids and today's date in China.

/// Today's date where the authorities are (Asia/Shanghai): the date every deadline is counted in.
pub fn today_in_china() -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
}

/// A new identifier: a prefix and a time-ordered UUID (v7), so ids sort by creation.
pub(crate) fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}
