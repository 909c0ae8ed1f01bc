//! The ledger invariants, as queries. Each returns a finding per broken row; `finepay ledger check`
//! prints them and fails when there is any.

use crate::{Sql, StoreError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub rule: &'static str,
    pub detail: String,
}

struct Rule {
    name: &'static str,
    /// A query whose every row (one text column) is a violation of the rule.
    sql: &'static str,
}

const RULES: &[Rule] = &[
    Rule {
        name: "every ledger transaction balances (postings sum to zero)",
        sql: "SELECT transaction_id || ' sums to ' || SUM(amount) FROM postings
              GROUP BY transaction_id HAVING SUM(amount) <> 0",
    },
    Rule {
        name: "every ledger transaction has at least two postings",
        sql: "SELECT t.id || ' has ' || COUNT(p.id) || ' postings' FROM ledger_transactions t
              LEFT JOIN postings p ON p.transaction_id = t.id GROUP BY t.id HAVING COUNT(p.id) < 2",
    },
    Rule {
        name: "every account's balance equals the sum of its postings",
        sql: "SELECT a.key || ' balance ' || a.balance || ' but postings sum to ' || COALESCE(s.total, 0)
              FROM accounts a LEFT JOIN (SELECT account_key, SUM(amount) AS total FROM postings
              GROUP BY account_key) s ON s.account_key = a.key
              WHERE a.balance <> COALESCE(s.total, 0)",
    },
    Rule {
        name: "every posting is on a known account",
        sql: "SELECT 'posting ' || p.id || ' on unknown account ' || p.account_key FROM postings p
              LEFT JOIN accounts a ON a.key = p.account_key WHERE a.key IS NULL",
    },
    Rule {
        name: "no user balance is negative",
        sql: "SELECT key || ' is ' || balance FROM accounts
              WHERE key LIKE 'user:%:balance' AND balance < 0",
    },
    Rule {
        name: "no credit line owes its user money (outstanding is never below zero)",
        sql: "SELECT key || ' is ' || balance FROM accounts
              WHERE key LIKE 'user:%:credit' AND balance > 0",
    },
    Rule {
        name: "no authority is owed less than nothing (authority:*:payable is never below zero)",
        sql: "SELECT key || ' is ' || balance FROM accounts
              WHERE key LIKE 'authority:%:payable' AND balance < 0",
    },
    Rule {
        name: "no bank clearing account is owed by the bank (bank:*:clearing is never above zero)",
        sql: "SELECT key || ' is ' || balance FROM accounts
              WHERE key LIKE 'bank:%:clearing' AND balance > 0",
    },
    Rule {
        name: "every ledger transaction's reference exists (its payment, top-up or repayment)",
        sql: "SELECT t.id || ' (' || t.kind || ') refers to ' || t.reference || ', which does not exist'
              FROM ledger_transactions t
              WHERE (t.kind IN ('payment', 'refund')
                     AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.id = t.reference))
                 OR (t.kind = 'top_up'
                     AND NOT EXISTS (SELECT 1 FROM top_ups u WHERE u.id = t.reference))
                 OR (t.kind = 'credit_repayment'
                     AND NOT EXISTS (SELECT 1 FROM credit_repayments r WHERE r.id = t.reference))
                 OR t.kind NOT IN ('payment', 'refund', 'top_up', 'credit_repayment')",
    },
    Rule {
        name: "every payment's amount is its fine plus its late fee",
        sql: "SELECT id || ' charges ' || amount || ' for ' || fine || ' + ' || late_fee FROM payments
              WHERE amount <> fine + late_fee",
    },
    Rule {
        name: "a decision has at most one succeeded payment that is not refunded",
        sql: "SELECT decision_number || ' has ' || COUNT(*) || ' succeeded payments' FROM payments
              WHERE status = 'succeeded' GROUP BY decision_number HAVING COUNT(*) > 1",
    },
    Rule {
        name: "every succeeded payment has its ledger transaction for its amount",
        sql: "SELECT p.id || ' moved ' || COALESCE((SELECT SUM(amount) FROM postings
                 WHERE transaction_id = p.ledger_tx_id AND amount > 0), 0) || ' for ' || p.amount
              FROM payments p WHERE p.status IN ('succeeded', 'refunded')
              AND COALESCE((SELECT SUM(amount) FROM postings
                 WHERE transaction_id = p.ledger_tx_id AND amount > 0), 0) <> p.amount",
    },
    Rule {
        name: "every succeeded payment has exactly one receipt",
        sql: "SELECT p.id || ' has ' || (SELECT COUNT(*) FROM receipts r WHERE r.payment_id = p.id)
                 || ' receipts'
              FROM payments p WHERE p.status IN ('succeeded', 'refunded')
              AND ((SELECT COUNT(*) FROM receipts r WHERE r.payment_id = p.id) <> 1
                   OR p.receipt_id IS NULL
                   OR p.receipt_id NOT IN (SELECT id FROM receipts r WHERE r.payment_id = p.id))",
    },
    Rule {
        name: "every succeeded payment has exactly one authority notice",
        sql: "SELECT p.id || ' has ' || (SELECT COUNT(*) FROM outbox o
                 WHERE o.payment_id = p.id AND o.kind = 'payment_notice') || ' notices'
              FROM payments p WHERE p.status IN ('succeeded', 'refunded')
              AND (SELECT COUNT(*) FROM outbox o WHERE o.payment_id = p.id
                   AND o.kind = 'payment_notice') <> 1",
    },
    Rule {
        name: "every succeeded credit repayment has its ledger transaction for its amount",
        sql: "SELECT r.id || ' moved ' || COALESCE((SELECT SUM(amount) FROM postings
                 WHERE transaction_id = r.ledger_tx_id AND amount > 0), 0) || ' for ' || r.amount
              FROM credit_repayments r WHERE r.status = 'succeeded'
              AND COALESCE((SELECT SUM(amount) FROM postings
                 WHERE transaction_id = r.ledger_tx_id AND amount > 0), 0) <> r.amount",
    },
    Rule {
        name: "a repayment or top-up that did not succeed moved no money",
        sql: "SELECT id || ' is ' || status || ' but has ledger transaction ' || ledger_tx_id
              FROM credit_repayments WHERE status IN ('processing', 'failed') AND ledger_tx_id IS NOT NULL
              UNION ALL
              SELECT id || ' is ' || status || ' but has ledger transaction ' || ledger_tx_id
              FROM top_ups WHERE status IN ('processing', 'failed') AND ledger_tx_id IS NOT NULL",
    },
    Rule {
        name: "every refunded payment has exactly one refund receipt",
        sql: "SELECT p.id || ' has ' || (SELECT COUNT(*) FROM refund_receipts r WHERE r.payment_id = p.id)
                 || ' refund receipts'
              FROM payments p WHERE p.status = 'refunded'
              AND (SELECT COUNT(*) FROM refund_receipts r WHERE r.payment_id = p.id) <> 1",
    },
    Rule {
        name: "a refunded payment owes the authority nothing (the reversal cancels the payment)",
        sql: "SELECT p.id || ' still owes ' || COALESCE((SELECT SUM(po.amount) FROM postings po
                 JOIN ledger_transactions t ON t.id = po.transaction_id
                 WHERE t.reference = p.id AND po.account_key LIKE 'authority:%'), 0)
              FROM payments p WHERE p.status = 'refunded'
              AND COALESCE((SELECT SUM(po.amount) FROM postings po
                 JOIN ledger_transactions t ON t.id = po.transaction_id
                 WHERE t.reference = p.id AND po.account_key LIKE 'authority:%'), 0) <> 0",
    },
    Rule {
        name: "a payment that did not succeed moved no money",
        sql: "SELECT id || ' is ' || status || ' but has ledger transaction ' || ledger_tx_id
              FROM payments WHERE status IN ('processing', 'failed') AND ledger_tx_id IS NOT NULL",
    },
    Rule {
        name: "every succeeded top-up has its ledger transaction for its amount",
        sql: "SELECT t.id || ' credited ' || COALESCE((SELECT SUM(amount) FROM postings
                 WHERE transaction_id = t.ledger_tx_id AND amount > 0), 0) || ' for ' || t.amount
              FROM top_ups t WHERE t.status = 'succeeded'
              AND COALESCE((SELECT SUM(amount) FROM postings
                 WHERE transaction_id = t.ledger_tx_id AND amount > 0), 0) <> t.amount",
    },
];

/// Runs every rule and returns what is broken (empty when the ledger is sound), plus the number of
/// rules checked.
pub fn run(conn: &dyn Sql) -> Result<(usize, Vec<Finding>), StoreError> {
    let mut findings = Vec::new();
    for rule in RULES {
        for row in conn.query(rule.sql, &[])? {
            findings.push(Finding {
                rule: rule.name,
                detail: row.only_text()?,
            });
        }
    }
    Ok((RULES.len(), findings))
}
