//! Deadline and late fee (Administrative Penalty Law art. 67 and 72), SPEC §2.
//!
//! A decision must be paid within 15 days of being served; paying on `due_on` itself costs the fine
//! alone. Each day after that adds 3 % of the fine, rounded down to the fen, and the late fee never
//! exceeds the fine (so from 34 days late it stops growing). Dates are calendar dates in
//! Asia/Shanghai; the caller decides what "today" is, which keeps this a pure function.

use crate::money::Fen;
use chrono::{Days, NaiveDate};

/// Days after `issued_on` within which the fine alone is due.
pub const PAYMENT_WINDOW_DAYS: i64 = 15;

/// The last day on which the fine alone is due: `issued_on + 15 days`.
///
/// Saturates at `NaiveDate::MAX` rather than panicking; no real decision is issued that late.
pub fn due_on(issued_on: NaiveDate) -> NaiveDate {
    issued_on
        .checked_add_days(Days::new(PAYMENT_WINDOW_DAYS.unsigned_abs()))
        .unwrap_or(NaiveDate::MAX)
}

/// What a decision costs on a given day.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Charges {
    /// The fine on the decision.
    pub fine: Fen,
    /// 3 % of the fine per day late, rounded down, at most the fine.
    pub late_fee: Fen,
    /// `fine + late_fee`.
    pub amount_due: Fen,
    /// Whole days after `due_on`; 0 on or before it.
    pub days_late: i64,
    /// The last day on which the fine alone is due.
    pub due_on: NaiveDate,
}

/// The charges on `today` for a `fine` served on `issued_on`.
///
/// `late_fee = min(fine, floor(fine × 3 × days_late / 100))`, computed in `i128` so that no input
/// overflows. Total for every input: a fine that is not positive carries no late fee, and the late fee
/// is also capped at `i64::MAX − fine` so `amount_due = fine + late_fee` always holds exactly (a cap no
/// real fine comes near).
pub fn charges_on(fine: Fen, issued_on: NaiveDate, today: NaiveDate) -> Charges {
    let due = due_on(issued_on);
    let days_late = today.signed_duration_since(due).num_days().max(0);
    let late_fee = late_fee(fine, days_late);
    // late_fee ≤ i64::MAX − fine when fine > 0, and 0 otherwise: the sum cannot overflow.
    let amount_due = fine.checked_add(late_fee).unwrap_or(fine);
    Charges {
        fine,
        late_fee,
        amount_due,
        days_late,
        due_on: due,
    }
}

/// `min(fine, floor(fine × 3 × days_late / 100), i64::MAX − fine)` for a positive fine, else zero.
fn late_fee(fine: Fen, days_late: i64) -> Fen {
    if !fine.is_positive() || days_late <= 0 {
        return Fen::ZERO;
    }
    let fine_fen = i128::from(fine.fen());
    let accrued = fine_fen * 3 * i128::from(days_late) / 100;
    let headroom = i128::from(i64::MAX) - fine_fen;
    let fee = accrued.min(fine_fen).min(headroom);
    // fee is between 0 and fine_fen, which came from an i64.
    Fen::from_fen(i64::try_from(fee).unwrap_or(0))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed test
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn issued_days_before(today: NaiveDate, days: u64) -> NaiveDate {
        today.checked_sub_days(Days::new(days)).unwrap()
    }

    #[test]
    fn due_on_is_fifteen_days_after_issue() {
        assert_eq!(due_on(date(2024, 1, 1)), date(2024, 1, 16));
        assert_eq!(due_on(date(2024, 2, 20)), date(2024, 3, 6));
        assert_eq!(due_on(NaiveDate::MAX), NaiveDate::MAX);
    }

    #[test]
    fn the_late_fee_table_for_a_200_yuan_fine() {
        let today = date(2024, 6, 30);
        let fine = Fen::from_yuan(200).unwrap();
        // (days since issue, days late, late fee in fen)
        let table = [
            (0, 0, 0),
            (15, 0, 0),
            (16, 1, 600),
            (20, 5, 3_000),
            (48, 33, 19_800),
            (49, 34, 20_000),
            (200, 185, 20_000),
        ];
        for (issued_ago, days_late, fee) in table {
            let c = charges_on(fine, issued_days_before(today, issued_ago), today);
            assert_eq!(c.days_late, days_late, "issued {issued_ago} days ago");
            assert_eq!(
                c.late_fee,
                Fen::from_fen(fee),
                "issued {issued_ago} days ago"
            );
            assert_eq!(c.amount_due, Fen::from_fen(20_000 + fee));
            assert_eq!(c.fine, fine);
        }
    }

    #[test]
    fn paying_on_the_due_date_costs_the_fine_alone() {
        let issued = date(2024, 3, 1);
        let c = charges_on(Fen::from_fen(5_000), issued, due_on(issued));
        assert_eq!(
            (c.days_late, c.late_fee, c.amount_due),
            (0, Fen::ZERO, Fen::from_fen(5_000))
        );
        assert_eq!(c.due_on, date(2024, 3, 16));
    }

    #[test]
    fn the_late_fee_rounds_down_to_the_fen() {
        // 3 % of 0.33 yuan is 0.99 fen: nothing on day 1, 1 fen on day 2 (1.98 → 1).
        let issued = date(2024, 1, 1);
        let fine = Fen::from_fen(33);
        assert_eq!(
            charges_on(fine, issued, date(2024, 1, 17)).late_fee,
            Fen::ZERO
        );
        assert_eq!(
            charges_on(fine, issued, date(2024, 1, 18)).late_fee,
            Fen::from_fen(1)
        );
    }

    #[test]
    fn a_today_before_issue_is_not_late() {
        let c = charges_on(Fen::from_fen(100), date(2024, 5, 1), date(2020, 1, 1));
        assert_eq!((c.days_late, c.late_fee), (0, Fen::ZERO));
    }

    #[test]
    fn extreme_fines_and_dates_do_not_overflow() {
        let c = charges_on(Fen::from_fen(i64::MAX), NaiveDate::MIN, NaiveDate::MAX);
        assert_eq!(c.amount_due, Fen::from_fen(i64::MAX));
        let half = i64::MAX / 2;
        let c = charges_on(Fen::from_fen(half), NaiveDate::MIN, NaiveDate::MAX);
        assert_eq!(c.late_fee, Fen::from_fen(half));
        let c = charges_on(Fen::from_fen(i64::MIN), NaiveDate::MIN, NaiveDate::MAX);
        assert_eq!(c.late_fee, Fen::ZERO);
    }

    fn any_date() -> impl Strategy<Value = NaiveDate> {
        (-200_000i64..200_000).prop_map(|d| date(2000, 1, 1) + chrono::Duration::days(d))
    }

    proptest! {
        #[test]
        fn the_late_fee_never_exceeds_the_fine(
            fine in 1i64..=i64::MAX, issued in any_date(), today in any_date(),
        ) {
            let c = charges_on(Fen::from_fen(fine), issued, today);
            prop_assert!(c.late_fee >= Fen::ZERO && c.late_fee <= c.fine);
        }

        #[test]
        fn amount_due_is_fine_plus_late_fee(
            fine in any::<i64>(), issued in any_date(), today in any_date(),
        ) {
            let c = charges_on(Fen::from_fen(fine), issued, today);
            prop_assert_eq!(c.fine.checked_add(c.late_fee), Some(c.amount_due));
        }

        #[test]
        fn nothing_is_late_up_to_the_due_date(
            fine in 1i64..10_000_000, issued in any_date(), before in 0u64..400,
        ) {
            let today = due_on(issued).checked_sub_days(Days::new(before)).unwrap();
            let c = charges_on(Fen::from_fen(fine), issued, today);
            prop_assert_eq!((c.days_late, c.late_fee, c.amount_due), (0, Fen::ZERO, c.fine));
        }

        #[test]
        fn the_late_fee_never_decreases_as_days_pass(
            fine in 1i64..=i64::MAX, issued in any_date(), today in any_date(), later in 0u64..100,
        ) {
            let later_day = today.checked_add_days(Days::new(later)).unwrap();
            let now = charges_on(Fen::from_fen(fine), issued, today);
            let then = charges_on(Fen::from_fen(fine), issued, later_day);
            prop_assert!(then.late_fee >= now.late_fee);
            prop_assert!(then.days_late >= now.days_late);
        }

        #[test]
        fn from_34_days_late_the_late_fee_equals_the_fine(
            yuan in 1i64..1_000_000, extra in 0u64..1_000,
        ) {
            let issued = date(2024, 1, 1);
            let today = due_on(issued).checked_add_days(Days::new(34 + extra)).unwrap();
            let fine = Fen::from_yuan(yuan).unwrap();
            prop_assert_eq!(charges_on(fine, issued, today).late_fee, fine);
        }
    }
}
