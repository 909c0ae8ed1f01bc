//! Double-entry ledger postings as values (SPEC §2: every movement of money is one balanced
//! transaction, written in the same database transaction as the state change that causes it).
//!
//! # Sign convention
//!
//! Postings are signed amounts of fen; the postings of one transaction sum to exactly zero, and an
//! account's balance is the sum of its postings. A balance reads as **what the platform owes that
//! party** (positive) or **what that party owes or holds for the platform** (negative):
//!
//! | account | key | normal balance | meaning |
//! |---|---|---|---|
//! | [`Account::UserBalance`] | `user:{id}:balance` | ≥ 0 | the user's spendable wallet balance |
//! | [`Account::UserCreditReceivable`] | `user:{id}:credit` | ≤ 0 | minus what the user owes on the credit line |
//! | [`Account::BankClearing`] | `bank:{code}:clearing` | ≤ 0 | minus the money received through that bank |
//! | [`Account::AuthorityPayable`] | `authority:{city}:payable` | ≥ 0 before settlement | fines collected, not yet settled with the city's authority |
//! | [`Account::AuthoritySettled`] | `authority:{city}:settled` | ≥ 0 | fines handed to the city in settlement batches |
//! | [`Account::CreditLineFunding`] | `platform:credit_funding` | any | the platform's own money behind credit lines |
//!
//! The flows:
//!
//! | flow | postings |
//! |---|---|
//! | [`top_up`] | `UserBalance +a`, `BankClearing −a` |
//! | [`pay_from_balance`] | `UserBalance −a`, `AuthorityPayable +a` |
//! | [`pay_by_card`] | `BankClearing −a`, `AuthorityPayable +a` |
//! | [`pay_by_credit`] | `UserCreditReceivable −a`, `AuthorityPayable +a` |
//! | [`credit_repayment`] | `BankClearing −a`, `UserCreditReceivable +a` |
//! | [`repay_credit_from_balance`] | `UserBalance −a`, `UserCreditReceivable +a` |
//! | [`refund`] | every posting of the original, negated |
//! | [`settle`] | `AuthorityPayable −net`, `AuthoritySettled +net` (a batch's payments less its refunds; negative when refunds exceed payments) |
//!
//! A refund of a payment already settled takes its amount off `AuthorityPayable` before the next
//! batch takes it off `AuthoritySettled`, so between the two a payable may dip below zero; what a
//! city is owed and was given together (`payable + settled`) never does (`ledger check`).
//!
//! So a user's spendable balance is the sum of the postings on `user:{id}:balance`, and the credit
//! used is minus the sum on `user:{id}:credit` (the limit itself is configuration, not a posting).
//! [`Account::CreditLineFunding`] is not posted by these flows; it exists for the platform to record
//! funding or writing off credit lines, and its key is reserved now so stored keys never change.

use crate::city::CityCode;
use crate::money::Fen;

/// A ledger account. See the module doc for the sign convention.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Account {
    /// A user's wallet (user id).
    UserBalance(String),
    /// What a user owes on the credit line (user id).
    UserCreditReceivable(String),
    /// Money moving through a bank (bank code).
    BankClearing(String),
    /// Fines collected for a city's authority, not yet settled.
    AuthorityPayable(CityCode),
    /// Fines handed to a city's authority in settlement batches.
    AuthoritySettled(CityCode),
    /// The platform's own money behind credit lines.
    CreditLineFunding,
}

const USER: &str = "user:";
const BANK: &str = "bank:";
const AUTHORITY: &str = "authority:";
const BALANCE: &str = ":balance";
const CREDIT: &str = ":credit";
const CLEARING: &str = ":clearing";
const PAYABLE: &str = ":payable";
const SETTLED: &str = ":settled";
const CREDIT_FUNDING: &str = "platform:credit_funding";

impl Account {
    /// The stable string stored in the database, e.g. `user:42:balance`, `authority:110000:payable`.
    pub fn key(&self) -> String {
        match self {
            Account::UserBalance(id) => format!("{USER}{id}{BALANCE}"),
            Account::UserCreditReceivable(id) => format!("{USER}{id}{CREDIT}"),
            Account::BankClearing(code) => format!("{BANK}{code}{CLEARING}"),
            Account::AuthorityPayable(city) => format!("{AUTHORITY}{city}{PAYABLE}"),
            Account::AuthoritySettled(city) => format!("{AUTHORITY}{city}{SETTLED}"),
            Account::CreditLineFunding => CREDIT_FUNDING.to_owned(),
        }
    }

    /// The account a key names; `None` for anything `key` never produces (including empty ids).
    pub fn parse_key(key: &str) -> Option<Account> {
        let middle = |prefix: &str, suffix: &str| {
            key.strip_prefix(prefix)?
                .strip_suffix(suffix)
                .filter(|id| !id.is_empty())
                .map(str::to_owned)
        };
        if key == CREDIT_FUNDING {
            return Some(Account::CreditLineFunding);
        }
        middle(USER, BALANCE)
            .map(Account::UserBalance)
            .or_else(|| middle(USER, CREDIT).map(Account::UserCreditReceivable))
            .or_else(|| middle(BANK, CLEARING).map(Account::BankClearing))
            .or_else(|| {
                let city = CityCode::parse(&middle(AUTHORITY, PAYABLE)?).ok()?;
                Some(Account::AuthorityPayable(city))
            })
            .or_else(|| {
                let city = CityCode::parse(&middle(AUTHORITY, SETTLED)?).ok()?;
                Some(Account::AuthoritySettled(city))
            })
    }

    /// Whether a balance below zero is normal for this account.
    ///
    /// False only for a user's wallet (nobody spends money they do not have); `ledger check` flags
    /// it. An authority's payable and settled accounts may each dip below zero between a refund of
    /// a settled payment and the next batch; their sum may not, which `ledger check` holds per city.
    /// True for the accounts whose normal balance is negative or unrestricted.
    pub fn may_go_negative(&self) -> bool {
        match self {
            Account::UserBalance(_) => false,
            Account::AuthorityPayable(_)
            | Account::AuthoritySettled(_)
            | Account::UserCreditReceivable(_)
            | Account::BankClearing(_)
            | Account::CreditLineFunding => true,
        }
    }
}

/// One signed amount on one account.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Posting {
    /// The account posted to.
    pub account: Account,
    /// Signed amount; never zero inside a [`LedgerTransaction`].
    pub amount: Fen,
}

/// Why a ledger transaction was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// A movement of money needs a source and a destination.
    #[error("a ledger transaction needs at least 2 postings, got {count}")]
    TooFewPostings {
        /// Postings given.
        count: usize,
    },
    /// A zero posting records nothing and hides mistakes.
    #[error("a ledger posting of zero to {account}")]
    ZeroPosting {
        /// The account's key.
        account: String,
    },
    /// The postings do not sum to zero.
    #[error("ledger postings must sum to zero, they sum to {sum} fen")]
    Unbalanced {
        /// The sum in fen (wide, so it cannot overflow).
        sum: i128,
    },
    /// An account whose key cannot be parsed back (for instance an empty user id).
    #[error("'{key}' is not a valid ledger account")]
    BadAccount {
        /// The key the account would have.
        key: String,
    },
    /// A flow amount must be greater than zero.
    #[error("the amount moved must be greater than zero")]
    NotPositive,
    /// Negating a posting overflowed.
    #[error("the amount is too large")]
    Overflow,
    /// A refund is itself reversed by a new payment, not by refunding the refund.
    #[error("a refund cannot be refunded")]
    RefundOfRefund,
}

/// Why money moved.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum TxKind {
    /// Money into a user's wallet from a bank.
    TopUp,
    /// A fine paid, from wallet, card or credit line.
    Payment,
    /// A reversal of an earlier transaction.
    Refund,
    /// A user paying back the credit line.
    CreditRepayment,
    /// A settlement batch handing a city its collected fines.
    Settlement,
}

impl TxKind {
    /// Every kind.
    pub const ALL: &'static [TxKind] = &[
        TxKind::TopUp,
        TxKind::Payment,
        TxKind::Refund,
        TxKind::CreditRepayment,
        TxKind::Settlement,
    ];

    /// The stable snake_case name stored in the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            TxKind::TopUp => "top_up",
            TxKind::Payment => "payment",
            TxKind::Refund => "refund",
            TxKind::CreditRepayment => "credit_repayment",
            TxKind::Settlement => "settlement",
        }
    }

    /// The kind named by `as_str`, or `None`.
    pub fn parse(s: &str) -> Option<TxKind> {
        TxKind::ALL.iter().copied().find(|k| k.as_str() == s)
    }
}

/// A balanced set of postings: at least two, none zero, summing to zero.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerTransaction {
    kind: TxKind,
    postings: Vec<Posting>,
}

impl LedgerTransaction {
    /// Check the invariants and build the transaction.
    pub fn new(kind: TxKind, postings: Vec<Posting>) -> Result<LedgerTransaction, LedgerError> {
        if postings.len() < 2 {
            return Err(LedgerError::TooFewPostings {
                count: postings.len(),
            });
        }
        for p in &postings {
            let key = p.account.key();
            if Account::parse_key(&key).as_ref() != Some(&p.account) {
                return Err(LedgerError::BadAccount { key });
            }
            if p.amount == Fen::ZERO {
                return Err(LedgerError::ZeroPosting { account: key });
            }
        }
        let sum: i128 = postings.iter().map(|p| i128::from(p.amount.fen())).sum();
        if sum != 0 {
            return Err(LedgerError::Unbalanced { sum });
        }
        Ok(LedgerTransaction { kind, postings })
    }

    /// The postings, in the order given.
    pub fn postings(&self) -> &[Posting] {
        &self.postings
    }

    /// Why the money moved.
    pub fn kind(&self) -> TxKind {
        self.kind
    }

    /// The amount moved: the sum of the positive postings.
    pub fn amount(&self) -> Fen {
        let total: i128 = self
            .postings
            .iter()
            .map(|p| i128::from(p.amount.fen().max(0)))
            .sum();
        // Positive postings equal minus the negative ones, each ≥ i64::MIN, but several may exceed
        // i64 together; saturate, as this is for display and checks only.
        Fen::from_fen(i64::try_from(total).unwrap_or(i64::MAX))
    }
}

/// A two-posting transaction moving a positive `amount` from `from` to `to`.
fn transfer(
    kind: TxKind,
    from: Account,
    to: Account,
    amount: Fen,
) -> Result<LedgerTransaction, LedgerError> {
    if !amount.is_positive() {
        return Err(LedgerError::NotPositive);
    }
    let out = amount.checked_neg().ok_or(LedgerError::Overflow)?;
    LedgerTransaction::new(
        kind,
        vec![
            Posting {
                account: to,
                amount,
            },
            Posting {
                account: from,
                amount: out,
            },
        ],
    )
}

/// Money from a bank into a user's wallet: `UserBalance +a`, `BankClearing −a`.
pub fn top_up(user_id: &str, bank: &str, amount: Fen) -> Result<LedgerTransaction, LedgerError> {
    let from = Account::BankClearing(bank.to_owned());
    transfer(
        TxKind::TopUp,
        from,
        Account::UserBalance(user_id.to_owned()),
        amount,
    )
}

/// A fine paid from the wallet: `UserBalance −a`, `AuthorityPayable +a`.
pub fn pay_from_balance(
    user_id: &str,
    city: &CityCode,
    amount: Fen,
) -> Result<LedgerTransaction, LedgerError> {
    let from = Account::UserBalance(user_id.to_owned());
    transfer(
        TxKind::Payment,
        from,
        Account::AuthorityPayable(city.clone()),
        amount,
    )
}

/// A fine paid by bank card: `BankClearing −a`, `AuthorityPayable +a`.
pub fn pay_by_card(
    bank: &str,
    city: &CityCode,
    amount: Fen,
) -> Result<LedgerTransaction, LedgerError> {
    let from = Account::BankClearing(bank.to_owned());
    transfer(
        TxKind::Payment,
        from,
        Account::AuthorityPayable(city.clone()),
        amount,
    )
}

/// A fine paid on the credit line: `UserCreditReceivable −a` (the user now owes `a` more),
/// `AuthorityPayable +a`.
pub fn pay_by_credit(
    user_id: &str,
    city: &CityCode,
    amount: Fen,
) -> Result<LedgerTransaction, LedgerError> {
    let from = Account::UserCreditReceivable(user_id.to_owned());
    transfer(
        TxKind::Payment,
        from,
        Account::AuthorityPayable(city.clone()),
        amount,
    )
}

/// The credit line repaid from a bank: `BankClearing −a`, `UserCreditReceivable +a`.
pub fn credit_repayment(
    user_id: &str,
    bank: &str,
    amount: Fen,
) -> Result<LedgerTransaction, LedgerError> {
    let from = Account::BankClearing(bank.to_owned());
    let to = Account::UserCreditReceivable(user_id.to_owned());
    transfer(TxKind::CreditRepayment, from, to, amount)
}

/// The credit line repaid from the wallet: `UserBalance −a`, `UserCreditReceivable +a`.
pub fn repay_credit_from_balance(
    user_id: &str,
    amount: Fen,
) -> Result<LedgerTransaction, LedgerError> {
    let from = Account::UserBalance(user_id.to_owned());
    let to = Account::UserCreditReceivable(user_id.to_owned());
    transfer(TxKind::CreditRepayment, from, to, amount)
}

/// A settlement batch: `net` (its payments less its refunds, either sign, never zero) moves from
/// the city's payable to its settled account.
pub fn settle(city: &CityCode, net: Fen) -> Result<LedgerTransaction, LedgerError> {
    let out = net.checked_neg().ok_or(LedgerError::Overflow)?;
    LedgerTransaction::new(
        TxKind::Settlement,
        vec![
            Posting {
                account: Account::AuthoritySettled(city.clone()),
                amount: net,
            },
            Posting {
                account: Account::AuthorityPayable(city.clone()),
                amount: out,
            },
        ],
    )
}

/// The exact reversal of `original`: every posting negated, kind [`TxKind::Refund`]. A refund of a
/// card payment returns the money to the card's bank, of a credit payment to the credit line, and so on.
pub fn refund(original: &LedgerTransaction) -> Result<LedgerTransaction, LedgerError> {
    if original.kind() == TxKind::Refund {
        return Err(LedgerError::RefundOfRefund);
    }
    let postings = original
        .postings()
        .iter()
        .map(|p| {
            let amount = p.amount.checked_neg().ok_or(LedgerError::Overflow)?;
            Ok(Posting {
                account: p.account.clone(),
                amount,
            })
        })
        .collect::<Result<Vec<_>, LedgerError>>()?;
    LedgerTransaction::new(TxKind::Refund, postings)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed test
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn beijing() -> CityCode {
        CityCode::parse("110000").unwrap()
    }

    fn yuan(y: i64) -> Fen {
        Fen::from_yuan(y).unwrap()
    }

    fn posting(account: Account, fen: i64) -> Posting {
        Posting {
            account,
            amount: Fen::from_fen(fen),
        }
    }

    /// (key, fen) pairs, for compact assertions.
    fn summary(tx: &LedgerTransaction) -> Vec<(String, i64)> {
        tx.postings()
            .iter()
            .map(|p| (p.account.key(), p.amount.fen()))
            .collect()
    }

    fn pairs(list: &[(&str, i64)]) -> Vec<(String, i64)> {
        list.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    }

    #[test]
    fn each_flow_posts_as_the_module_doc_says() {
        let a = yuan(200);
        let city = beijing();
        let cases = [
            (
                top_up("42", "icbc", a),
                TxKind::TopUp,
                [("user:42:balance", 20_000), ("bank:icbc:clearing", -20_000)],
            ),
            (
                pay_from_balance("42", &city, a),
                TxKind::Payment,
                [
                    ("authority:110000:payable", 20_000),
                    ("user:42:balance", -20_000),
                ],
            ),
            (
                pay_by_card("icbc", &city, a),
                TxKind::Payment,
                [
                    ("authority:110000:payable", 20_000),
                    ("bank:icbc:clearing", -20_000),
                ],
            ),
            (
                pay_by_credit("42", &city, a),
                TxKind::Payment,
                [
                    ("authority:110000:payable", 20_000),
                    ("user:42:credit", -20_000),
                ],
            ),
            (
                credit_repayment("42", "icbc", a),
                TxKind::CreditRepayment,
                [("user:42:credit", 20_000), ("bank:icbc:clearing", -20_000)],
            ),
            (
                repay_credit_from_balance("42", a),
                TxKind::CreditRepayment,
                [("user:42:credit", 20_000), ("user:42:balance", -20_000)],
            ),
        ];
        for (tx, kind, expected) in cases {
            let tx = tx.unwrap();
            assert_eq!(tx.kind(), kind);
            assert_eq!(summary(&tx), pairs(&expected));
            assert_eq!(tx.amount(), a);
        }
    }

    #[test]
    fn flows_refuse_zero_and_negative_amounts() {
        let city = beijing();
        for amount in [Fen::ZERO, Fen::from_fen(-1), Fen::from_fen(i64::MIN)] {
            assert_eq!(top_up("42", "icbc", amount), Err(LedgerError::NotPositive));
            assert_eq!(
                pay_from_balance("42", &city, amount),
                Err(LedgerError::NotPositive)
            );
            assert_eq!(
                pay_by_card("icbc", &city, amount),
                Err(LedgerError::NotPositive)
            );
            assert_eq!(
                pay_by_credit("42", &city, amount),
                Err(LedgerError::NotPositive)
            );
            assert_eq!(
                credit_repayment("42", "icbc", amount),
                Err(LedgerError::NotPositive)
            );
            assert_eq!(
                repay_credit_from_balance("42", amount),
                Err(LedgerError::NotPositive)
            );
        }
    }

    #[test]
    fn flows_refuse_empty_ids() {
        assert_eq!(
            top_up("", "icbc", yuan(1)),
            Err(LedgerError::BadAccount {
                key: "user::balance".into()
            })
        );
        assert!(pay_by_card("", &beijing(), yuan(1)).is_err());
    }

    #[test]
    fn a_refund_negates_every_posting() {
        let paid = pay_by_card("icbc", &beijing(), yuan(200)).unwrap();
        let back = refund(&paid).unwrap();
        assert_eq!(back.kind(), TxKind::Refund);
        assert_eq!(
            summary(&back),
            pairs(&[
                ("authority:110000:payable", -20_000),
                ("bank:icbc:clearing", 20_000)
            ])
        );
    }

    #[test]
    fn a_refund_cannot_be_refunded() {
        let paid = pay_from_balance("42", &beijing(), yuan(5)).unwrap();
        let back = refund(&paid).unwrap();
        assert_eq!(refund(&back), Err(LedgerError::RefundOfRefund));
    }

    #[test]
    fn unbalanced_short_and_zero_transactions_are_refused() {
        let user = Account::UserBalance("1".into());
        let bank = Account::BankClearing("b".into());
        assert_eq!(
            LedgerTransaction::new(TxKind::TopUp, vec![posting(user.clone(), 0)]),
            Err(LedgerError::TooFewPostings { count: 1 })
        );
        assert_eq!(
            LedgerTransaction::new(
                TxKind::TopUp,
                vec![posting(user.clone(), 5), posting(bank.clone(), -4)]
            ),
            Err(LedgerError::Unbalanced { sum: 1 })
        );
        assert_eq!(
            LedgerTransaction::new(
                TxKind::TopUp,
                vec![
                    posting(user.clone(), 5),
                    posting(bank.clone(), -5),
                    posting(bank, 0)
                ]
            ),
            Err(LedgerError::ZeroPosting {
                account: "bank:b:clearing".into()
            })
        );
    }

    #[test]
    fn sums_that_overflow_i64_are_still_seen_as_unbalanced() {
        let a = Account::UserBalance("1".into());
        let b = Account::BankClearing("b".into());
        let postings = vec![
            posting(a.clone(), i64::MAX),
            posting(a, i64::MAX),
            posting(b, -1),
        ];
        let expected = 2 * i128::from(i64::MAX) - 1;
        assert_eq!(
            LedgerTransaction::new(TxKind::TopUp, postings),
            Err(LedgerError::Unbalanced { sum: expected })
        );
    }

    #[test]
    fn account_keys_round_trip() {
        let accounts = [
            Account::UserBalance("42".into()),
            Account::UserCreditReceivable("42".into()),
            Account::BankClearing("icbc".into()),
            Account::AuthorityPayable(beijing()),
            Account::AuthoritySettled(beijing()),
            Account::CreditLineFunding,
            Account::UserBalance("a:credit".into()),
            Account::UserCreditReceivable("a:balance".into()),
        ];
        for account in accounts {
            assert_eq!(Account::parse_key(&account.key()), Some(account));
        }
        assert_eq!(Account::CreditLineFunding.key(), "platform:credit_funding");
    }

    #[test]
    fn malformed_keys_are_refused() {
        for key in [
            "",
            "user::balance",
            "user:42",
            "bank:icbc",
            "authority:11000:payable",
            "authority:beijing:payable",
            "platform:other",
            "user:42:wallet",
        ] {
            assert_eq!(Account::parse_key(key), None, "{key}");
        }
    }

    #[test]
    fn a_settlement_moves_the_net_from_payable_to_settled_in_either_direction() {
        let paid = settle(&beijing(), yuan(5)).unwrap();
        assert_eq!(paid.kind(), TxKind::Settlement);
        let on = |tx: &LedgerTransaction, account: Account| {
            tx.postings()
                .iter()
                .find(|p| p.account == account)
                .unwrap()
                .amount
        };
        assert_eq!(on(&paid, Account::AuthoritySettled(beijing())), yuan(5));
        assert_eq!(on(&paid, Account::AuthorityPayable(beijing())), yuan(-5));
        // More refunds than payments in a batch: the city gives money back.
        let back = settle(&beijing(), yuan(-2)).unwrap();
        assert_eq!(on(&back, Account::AuthoritySettled(beijing())), yuan(-2));
        assert_eq!(on(&back, Account::AuthorityPayable(beijing())), yuan(2));
        assert!(matches!(
            settle(&beijing(), Fen::ZERO),
            Err(LedgerError::ZeroPosting { .. })
        ));
    }

    #[test]
    fn only_wallets_must_stay_non_negative() {
        assert!(!Account::UserBalance("1".into()).may_go_negative());
        assert!(Account::AuthorityPayable(beijing()).may_go_negative());
        assert!(Account::AuthoritySettled(beijing()).may_go_negative());
        assert!(Account::UserCreditReceivable("1".into()).may_go_negative());
        assert!(Account::BankClearing("b".into()).may_go_negative());
        assert!(Account::CreditLineFunding.may_go_negative());
    }

    #[test]
    fn tx_kind_names_round_trip() {
        for kind in TxKind::ALL {
            assert_eq!(TxKind::parse(kind.as_str()), Some(*kind));
        }
        assert_eq!(TxKind::parse("TopUp"), None);
    }

    fn any_account() -> impl Strategy<Value = Account> {
        prop_oneof![
            "\\PC{1,12}".prop_map(Account::UserBalance),
            "\\PC{1,12}".prop_map(Account::UserCreditReceivable),
            "\\PC{1,12}".prop_map(Account::BankClearing),
            "[1-9][0-9]{5}".prop_map(|c| Account::AuthorityPayable(CityCode::parse(&c).unwrap())),
            "[1-9][0-9]{5}".prop_map(|c| Account::AuthoritySettled(CityCode::parse(&c).unwrap())),
            Just(Account::CreditLineFunding),
        ]
    }

    proptest! {
        #[test]
        fn any_account_key_round_trips(account in any_account()) {
            prop_assert_eq!(Account::parse_key(&account.key()), Some(account));
        }

        #[test]
        fn parsing_arbitrary_keys_never_panics(s in "\\PC*") {
            let _ = Account::parse_key(&s);
        }

        #[test]
        fn every_flow_balances_and_its_refund_cancels_it(
            amount in 1i64..=i64::MAX, user in "[a-z0-9-]{1,20}", bank in "[a-z]{1,8}",
        ) {
            let a = Fen::from_fen(amount);
            let city = beijing();
            let flows = [
                top_up(&user, &bank, a),
                pay_from_balance(&user, &city, a),
                pay_by_card(&bank, &city, a),
                pay_by_credit(&user, &city, a),
                credit_repayment(&user, &bank, a),
                repay_credit_from_balance(&user, a),
            ];
            for tx in flows {
                let tx = tx.unwrap();
                let back = refund(&tx).unwrap();
                let sum: i128 = tx.postings().iter().chain(back.postings())
                    .map(|p| i128::from(p.amount.fen())).sum();
                prop_assert_eq!(sum, 0);
                prop_assert_eq!(back.amount(), tx.amount());
                for (p, r) in tx.postings().iter().zip(back.postings()) {
                    prop_assert_eq!(&p.account, &r.account);
                    prop_assert_eq!(p.amount.checked_neg(), Some(r.amount));
                }
            }
        }

        #[test]
        fn new_accepts_exactly_the_nonzero_postings_that_sum_to_zero(
            amounts in proptest::collection::vec(any::<i64>(), 0..6),
        ) {
            let postings: Vec<Posting> = amounts.iter()
                .map(|&a| posting(Account::BankClearing("b".into()), a))
                .collect();
            let sum: i128 = amounts.iter().map(|&a| i128::from(a)).sum();
            let valid = amounts.len() >= 2 && !amounts.contains(&0) && sum == 0;
            prop_assert_eq!(LedgerTransaction::new(TxKind::Payment, postings).is_ok(), valid);
        }
    }
}
