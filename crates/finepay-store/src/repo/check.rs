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
        name: "no city is owed less than nothing (authority:C:payable + authority:C:settled is never below zero)",
        sql: "SELECT 'authority:' || c.city || ' payable + settled is ' || SUM(c.balance) FROM (
                SELECT substr(key, 11, 6) AS city, balance FROM accounts
                WHERE key LIKE 'authority:%:payable' OR key LIKE 'authority:%:settled') c
              GROUP BY c.city HAVING SUM(c.balance) < 0",
    },
    Rule {
        name: "a city's payable is its unsettled payments less its unsettled refunds",
        sql: "SELECT a.key || ' is ' || a.balance || ' but unsettled payments less refunds come to '
                 || COALESCE(u.total, 0)
              FROM accounts a LEFT JOIN (
                SELECT 'authority:' || x.city_code || ':payable' AS key, SUM(x.owed) AS total FROM (
                  SELECT p.city_code, p.amount AS owed FROM payments p
                  WHERE p.status IN ('succeeded', 'refunded') AND NOT EXISTS (SELECT 1
                    FROM settlement_items i WHERE i.kind = 'payment' AND i.payment_id = p.id)
                  UNION ALL
                  SELECT p.city_code, 0 - p.amount FROM payments p
                  WHERE p.status = 'refunded' AND NOT EXISTS (SELECT 1
                    FROM settlement_items i WHERE i.kind = 'refund' AND i.payment_id = p.id)
                ) x GROUP BY x.city_code) u ON u.key = a.key
              WHERE a.key LIKE 'authority:%:payable' AND a.balance <> COALESCE(u.total, 0)",
    },
    Rule {
        name: "a city's settled account is the sum of its settlement batches' nets",
        sql: "SELECT a.key || ' is ' || a.balance || ' but its batches net ' || COALESCE(b.total, 0)
              FROM accounts a LEFT JOIN (
                SELECT 'authority:' || city_code || ':settled' AS key, SUM(net) AS total
                FROM settlement_batches GROUP BY city_code) b ON b.key = a.key
              WHERE a.key LIKE 'authority:%:settled' AND a.balance <> COALESCE(b.total, 0)
              UNION ALL
              SELECT 'city ' || b.city_code || ' has batches netting ' || SUM(b.net)
                 || ' but no settled account'
              FROM settlement_batches b
              WHERE NOT EXISTS (SELECT 1 FROM accounts a
                WHERE a.key = 'authority:' || b.city_code || ':settled')
              GROUP BY b.city_code HAVING SUM(b.net) <> 0",
    },
    Rule {
        name: "every settlement batch's totals are its items' and its ledger transaction moves its net",
        sql: "SELECT b.id || ' says ' || b.count || ' items, ' || b.payments_total || ' paid, '
                 || b.refunds_total || ' refunded; its items and ledger disagree'
              FROM settlement_batches b
              WHERE b.count <> (SELECT COUNT(*) FROM settlement_items i WHERE i.batch_id = b.id)
                 OR b.payments_total <> COALESCE((SELECT SUM(amount) FROM settlement_items i
                      WHERE i.batch_id = b.id AND i.kind = 'payment'), 0)
                 OR b.refunds_total <> COALESCE((SELECT SUM(amount) FROM settlement_items i
                      WHERE i.batch_id = b.id AND i.kind = 'refund'), 0)
                 OR (b.net = 0 AND b.ledger_tx_id IS NOT NULL)
                 OR (b.net <> 0 AND COALESCE((SELECT SUM(po.amount) FROM postings po
                      WHERE po.transaction_id = b.ledger_tx_id
                        AND po.account_key = 'authority:' || b.city_code || ':settled'), 0) <> b.net)
                 OR (b.net <> 0 AND COALESCE((SELECT SUM(po.amount) FROM postings po
                      WHERE po.transaction_id = b.ledger_tx_id
                        AND po.account_key = 'authority:' || b.city_code || ':payable'), 0) <> 0 - b.net)",
    },
    Rule {
        name: "a settlement item is its payment's: same city and amount, confirmed by the authority, refunds only of refunded payments",
        sql: "SELECT i.kind || ' ' || i.payment_id || ' in ' || i.batch_id || ' does not match its payment'
              FROM settlement_items i
              JOIN settlement_batches b ON b.id = i.batch_id
              JOIN payments p ON p.id = i.payment_id
              WHERE p.city_code <> b.city_code OR p.amount <> i.amount
                 OR p.decision_number <> i.decision_number
                 OR p.authority_status <> 'confirmed'
                 OR p.status NOT IN ('succeeded', 'refunded')
                 OR (i.kind = 'refund' AND p.status <> 'refunded')",
    },
    Rule {
        name: "no bank clearing account is owed by the bank (bank:*:clearing is never above zero)",
        sql: "SELECT key || ' is ' || balance FROM accounts
              WHERE key LIKE 'bank:%:clearing' AND balance > 0",
    },
    Rule {
        name: "every ledger transaction's reference exists (its payment, top-up, repayment or settlement batch)",
        sql: "SELECT t.id || ' (' || t.kind || ') refers to ' || t.reference || ', which does not exist'
              FROM ledger_transactions t
              WHERE (t.kind IN ('payment', 'refund')
                     AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.id = t.reference))
                 OR (t.kind = 'top_up'
                     AND NOT EXISTS (SELECT 1 FROM top_ups u WHERE u.id = t.reference))
                 OR (t.kind = 'credit_repayment'
                     AND NOT EXISTS (SELECT 1 FROM credit_repayments r WHERE r.id = t.reference))
                 OR (t.kind = 'settlement'
                     AND NOT EXISTS (SELECT 1 FROM settlement_batches b
                       WHERE b.id = t.reference AND b.ledger_tx_id = t.id))
                 OR t.kind NOT IN ('payment', 'refund', 'top_up', 'credit_repayment', 'settlement')",
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
