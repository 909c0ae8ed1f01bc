//! The state machines of SPEC §2 as pure functions.
//!
//! Why here and not in SQL: a transition is decided once, in code that can be tested for every pair
//! of states; the store then writes the new state with a `WHERE status = <old>` guard.
//!
//! - decision (authority): `unpaid → paid`, `unpaid → revoked`, `paid → revoked` (the platform refunds);
//! - payment (platform): `processing → succeeded | failed`, `succeeded → refunded`;
//! - authority sync of a payment: `pending → confirmed | rejected` (a rejection refunds).
//!
//! Staying in the same state is not a transition: `can_become(s, s)` is false, so a repeated event
//! is visible to the caller (who usually treats it as an idempotent replay).

/// A transition that the state machine does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a {machine} cannot go from {from} to {to}")]
pub struct TransitionError {
    /// Which state machine: "decision", "payment" or "authority sync".
    pub machine: &'static str,
    /// The current state.
    pub from: &'static str,
    /// The refused next state.
    pub to: &'static str,
}

/// Define `as_str`, `parse`, `ALL` and `Display` for an enum stored and shown by name (exported:
/// the core names its error codes with it).
#[macro_export]
macro_rules! named {
    ($ty:ident, { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The stable snake_case name stored in the database and shown in the API.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)+
                }
            }

            /// The value named by `as_str`, or `None`.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($name => Some($ty::$variant),)+
                    _ => None,
                }
            }
        }

        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::Named for $ty {
            fn all() -> &'static [Self] {
                Self::ALL
            }

            fn name(&self) -> &'static str {
                self.as_str()
            }

            fn from_name(s: &str) -> Option<Self> {
                Self::parse(s)
            }
        }
    };
}

/// A value stored in the database and shown in the API by a stable snake_case name (so the store
/// and the edge can read and write every such enum the same way).
pub trait Named: Sized + Copy + 'static {
    /// Every value, in declaration order (`ALL`).
    fn all() -> &'static [Self];
    /// The name (`as_str`).
    fn name(&self) -> &'static str;
    /// The value of a name (`parse`), or `None`.
    fn from_name(s: &str) -> Option<Self>;
}

/// Define `as_str`, `parse`, `ALL`, `transition` and `Display` for a state enum.
macro_rules! state_machine {
    ($ty:ident, $machine:literal, { $($variant:ident => $name:literal),+ $(,)? }) => {
        named!($ty, { $($variant => $name),+ });

        impl $ty {
            /// `next` if `self` may become it, else a [`TransitionError`] naming both states.
            pub fn transition(self, next: Self) -> Result<Self, TransitionError> {
                if self.can_become(next) {
                    Ok(next)
                } else {
                    Err(TransitionError {
                        machine: $machine,
                        from: self.as_str(),
                        to: next.as_str(),
                    })
                }
            }
        }
    };
}

/// A penalty decision's state at the authority.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum DecisionStatus {
    /// Issued, not yet paid.
    Unpaid,
    /// Paid.
    Paid,
    /// Withdrawn by the authority; if it was paid, the platform refunds.
    Revoked,
}

state_machine!(DecisionStatus, "decision", { Unpaid => "unpaid", Paid => "paid", Revoked => "revoked" });

impl DecisionStatus {
    /// `unpaid → paid`, `unpaid → revoked`, `paid → revoked`.
    pub fn can_become(self, next: DecisionStatus) -> bool {
        use DecisionStatus::*;
        matches!(
            (self, next),
            (Unpaid, Paid) | (Unpaid, Revoked) | (Paid, Revoked)
        )
    }
}

/// A payment's state on the platform.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum PaymentStatus {
    /// Money is being taken; the outcome is not known yet.
    Processing,
    /// Money taken and posted to the ledger.
    Succeeded,
    /// Nothing was charged.
    Failed,
    /// Money was given back.
    Refunded,
}

state_machine!(PaymentStatus, "payment", {
    Processing => "processing",
    Succeeded => "succeeded",
    Failed => "failed",
    Refunded => "refunded",
});

impl PaymentStatus {
    /// `processing → succeeded | failed`, `succeeded → refunded`.
    pub fn can_become(self, next: PaymentStatus) -> bool {
        use PaymentStatus::*;
        matches!(
            (self, next),
            (Processing, Succeeded) | (Processing, Failed) | (Succeeded, Refunded)
        )
    }

    /// Whether no further transition is possible.
    pub fn is_final(self) -> bool {
        matches!(self, PaymentStatus::Failed | PaymentStatus::Refunded)
    }
}

/// Whether the authority has acknowledged a payment notice.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum AuthoritySync {
    /// Notice not yet acknowledged (it is retried).
    Pending,
    /// The authority recorded the payment.
    Confirmed,
    /// The authority refused it; the platform refunds automatically.
    Rejected,
}

state_machine!(AuthoritySync, "authority sync", {
    Pending => "pending",
    Confirmed => "confirmed",
    Rejected => "rejected",
});

impl AuthoritySync {
    /// `pending → confirmed | rejected`.
    pub fn can_become(self, next: AuthoritySync) -> bool {
        use AuthoritySync::*;
        matches!((self, next), (Pending, Confirmed) | (Pending, Rejected))
    }
}

/// How a payment was paid (SPEC §3 `method.type`); a repayment's source is a balance or a card.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum PayMethodKind {
    /// The wallet balance.
    Balance,
    /// The credit line.
    Credit,
    /// A linked bank card.
    Card,
}

named!(PayMethodKind, { Balance => "balance", Credit => "credit", Card => "card" });

/// A top-up's or a repayment's state: a card charge that is `processing`, then `succeeded` or
/// `failed` (they are never refunded: the money stays in the wallet or repays the debt).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ChargeStatus {
    /// The bank's answer is not known yet.
    Processing,
    /// The money was taken and posted.
    Succeeded,
    /// Nothing was taken.
    Failed,
}

state_machine!(ChargeStatus, "charge", {
    Processing => "processing",
    Succeeded => "succeeded",
    Failed => "failed",
});

impl ChargeStatus {
    /// `processing → succeeded | failed`.
    pub fn can_become(self, next: ChargeStatus) -> bool {
        use ChargeStatus::*;
        matches!((self, next), (Processing, Succeeded) | (Processing, Failed))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed test
mod tests {
    use super::*;

    /// Every allowed pair of a machine, written out from SPEC §2, checked against all pairs.
    fn assert_exactly<T: Copy + PartialEq + std::fmt::Debug>(
        all: &[T],
        can: impl Fn(T, T) -> bool,
        allowed: &[(T, T)],
    ) {
        for &from in all {
            for &to in all {
                assert_eq!(
                    can(from, to),
                    allowed.contains(&(from, to)),
                    "{from:?} -> {to:?}"
                );
            }
        }
    }

    #[test]
    fn decisions_move_only_as_the_spec_says() {
        use DecisionStatus::*;
        let allowed = [(Unpaid, Paid), (Unpaid, Revoked), (Paid, Revoked)];
        assert_exactly(DecisionStatus::ALL, DecisionStatus::can_become, &allowed);
    }

    #[test]
    fn payments_move_only_as_the_spec_says() {
        use PaymentStatus::*;
        let allowed = [
            (Processing, Succeeded),
            (Processing, Failed),
            (Succeeded, Refunded),
        ];
        assert_exactly(PaymentStatus::ALL, PaymentStatus::can_become, &allowed);
    }

    #[test]
    fn authority_sync_moves_only_as_the_spec_says() {
        use AuthoritySync::*;
        let allowed = [(Pending, Confirmed), (Pending, Rejected)];
        assert_exactly(AuthoritySync::ALL, AuthoritySync::can_become, &allowed);
    }

    #[test]
    fn a_refused_transition_names_both_states() {
        let err = PaymentStatus::Failed
            .transition(PaymentStatus::Refunded)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "a payment cannot go from failed to refunded"
        );
        assert_eq!(
            DecisionStatus::Unpaid.transition(DecisionStatus::Paid),
            Ok(DecisionStatus::Paid)
        );
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for s in DecisionStatus::ALL {
            assert_eq!(DecisionStatus::parse(s.as_str()), Some(*s));
        }
        for s in PaymentStatus::ALL {
            assert_eq!(PaymentStatus::parse(&s.to_string()), Some(*s));
        }
        for s in AuthoritySync::ALL {
            assert_eq!(AuthoritySync::parse(s.as_str()), Some(*s));
        }
        for s in ChargeStatus::ALL {
            assert_eq!(ChargeStatus::parse(s.as_str()), Some(*s));
        }
        for m in PayMethodKind::ALL {
            assert_eq!(PayMethodKind::parse(m.as_str()), Some(*m));
        }
        assert_eq!(PaymentStatus::parse("Processing"), None);
        assert_eq!(DecisionStatus::parse(""), None);
        assert_eq!(PaymentStatus::Succeeded.as_str(), "succeeded");
    }

    #[test]
    fn failed_and_refunded_payments_are_final() {
        use PaymentStatus::*;
        for s in PaymentStatus::ALL {
            let has_next = PaymentStatus::ALL.iter().any(|&n| s.can_become(n));
            assert_eq!(s.is_final(), !has_next, "{s:?}");
        }
        assert!(Failed.is_final() && !Succeeded.is_final());
    }
}
