//! The credit line's monthly statement rule (Huabei-like): the charges and refunds of one calendar
//! month (Asia/Shanghai) are billed on the statement day of the next month and due on its due day;
//! repayments and refunds pay the oldest debt first; a statement past its due day and not repaid
//! is overdue, and an overdue statement blocks new credit charges.
//!
//! Pure: the core sums the credit account's postings per month and asks these functions what each
//! month owes and where it stands.

use chrono::NaiveDate;

/// Where a statement stands.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum StatementStatus {
    /// Its month is not over (before the statement day).
    Open,
    /// Issued, not yet due, not repaid.
    Issued,
    /// Nothing left to repay.
    Paid,
    /// Past its due date and not repaid: credit payments are refused until it is.
    Overdue,
}

crate::named!(StatementStatus, { Open => "open", Issued => "issued", Paid => "paid", Overdue => "overdue" });

/// The statement and due days of the month (each clamped to 1–28, so every month has them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatementDays {
    pub statement_day: u32,
    pub due_day: u32,
}

impl StatementDays {
    /// The statement date and the due date of the month `year`-`month`'s charges: those days of
    /// the month after.
    pub fn dates_of(self, year: i32, month: u32) -> (NaiveDate, NaiveDate) {
        let (y, m) = if month >= 12 {
            (year + 1, 1)
        } else {
            (year, month + 1)
        };
        let day = |d: u32| NaiveDate::from_ymd_opt(y, m, d.clamp(1, 28)).unwrap_or(NaiveDate::MIN);
        (day(self.statement_day), day(self.due_day))
    }
}

/// What is left of a month's `charges` (fen) when `paid` (every repayment and refund so far) pays
/// the oldest debt first and `charged_through` is the sum of the charges of this month and every
/// earlier one.
pub fn outstanding(charges: i64, charged_through: i64, paid: i64) -> i64 {
    charges.min(charged_through - paid).max(0)
}

/// Where a statement stands on `today`.
pub fn status_on(
    today: NaiveDate,
    (statement_date, due_date): (NaiveDate, NaiveDate),
    outstanding: i64,
) -> StatementStatus {
    if today < statement_date {
        StatementStatus::Open
    } else if outstanding == 0 {
        StatementStatus::Paid
    } else if today > due_date {
        StatementStatus::Overdue
    } else {
        StatementStatus::Issued
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DAYS: StatementDays = StatementDays {
        statement_day: 1,
        due_day: 10,
    };

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn december_is_billed_in_january_of_the_next_year() {
        assert_eq!(DAYS.dates_of(2026, 12), (d(2027, 1, 1), d(2027, 1, 10)));
        assert_eq!(DAYS.dates_of(2026, 3), (d(2026, 4, 1), d(2026, 4, 10)));
        let late = StatementDays {
            statement_day: 31,
            due_day: 0,
        };
        assert_eq!(late.dates_of(2026, 1), (d(2026, 2, 28), d(2026, 2, 1)));
    }

    #[test]
    fn a_statement_is_open_then_issued_then_overdue_unless_repaid() {
        let dates = DAYS.dates_of(2026, 3);
        assert_eq!(status_on(d(2026, 3, 31), dates, 100), StatementStatus::Open);
        assert_eq!(
            status_on(d(2026, 4, 1), dates, 100),
            StatementStatus::Issued
        );
        assert_eq!(
            status_on(d(2026, 4, 10), dates, 100),
            StatementStatus::Issued
        );
        assert_eq!(
            status_on(d(2026, 4, 11), dates, 100),
            StatementStatus::Overdue
        );
        assert_eq!(status_on(d(2026, 4, 11), dates, 0), StatementStatus::Paid);
    }

    #[test]
    fn repayments_clear_the_oldest_month_first() {
        // March charged 300, April 200; 400 repaid: March is clear, April owes 100.
        assert_eq!(outstanding(300, 300, 400), 0);
        assert_eq!(outstanding(200, 500, 400), 100);
    }

    proptest! {
        #[test]
        fn what_is_outstanding_never_exceeds_the_charges_nor_goes_below_zero(
            charges in 0i64..1_000_000, earlier in 0i64..1_000_000, paid in 0i64..3_000_000,
        ) {
            let left = outstanding(charges, earlier + charges, paid);
            prop_assert!((0..=charges).contains(&left));
        }
    }
}
