-- Every status, kind and method column accepts only the names the code maps (finepay-domain's
-- enums, read and written by name in the store): a row no code can read cannot be written.
-- SQLite cannot add a CHECK constraint to a table it has; triggers refuse the same rows.

CREATE TRIGGER payments_status_known_insert BEFORE INSERT ON payments
WHEN NEW.status NOT IN ('processing', 'succeeded', 'failed', 'refunded')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: payments_status_known'); END;
CREATE TRIGGER payments_status_known_update BEFORE UPDATE OF status ON payments
WHEN NEW.status NOT IN ('processing', 'succeeded', 'failed', 'refunded')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: payments_status_known'); END;
CREATE TRIGGER payments_authority_status_known_insert BEFORE INSERT ON payments
WHEN NEW.authority_status NOT IN ('pending', 'confirmed', 'rejected')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: payments_authority_status_known'); END;
CREATE TRIGGER payments_authority_status_known_update BEFORE UPDATE OF authority_status ON payments
WHEN NEW.authority_status NOT IN ('pending', 'confirmed', 'rejected')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: payments_authority_status_known'); END;
CREATE TRIGGER payments_method_type_known_insert BEFORE INSERT ON payments
WHEN NEW.method_type NOT IN ('balance', 'credit', 'card')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: payments_method_type_known'); END;
CREATE TRIGGER payments_method_type_known_update BEFORE UPDATE OF method_type ON payments
WHEN NEW.method_type NOT IN ('balance', 'credit', 'card')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: payments_method_type_known'); END;
CREATE TRIGGER top_ups_status_known_insert BEFORE INSERT ON top_ups
WHEN NEW.status NOT IN ('processing', 'succeeded', 'failed')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: top_ups_status_known'); END;
CREATE TRIGGER top_ups_status_known_update BEFORE UPDATE OF status ON top_ups
WHEN NEW.status NOT IN ('processing', 'succeeded', 'failed')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: top_ups_status_known'); END;
CREATE TRIGGER credit_repayments_status_known_insert BEFORE INSERT ON credit_repayments
WHEN NEW.status NOT IN ('processing', 'succeeded', 'failed')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: credit_repayments_status_known'); END;
CREATE TRIGGER credit_repayments_status_known_update BEFORE UPDATE OF status ON credit_repayments
WHEN NEW.status NOT IN ('processing', 'succeeded', 'failed')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: credit_repayments_status_known'); END;
CREATE TRIGGER credit_repayments_source_type_known_insert BEFORE INSERT ON credit_repayments
WHEN NEW.source_type NOT IN ('balance', 'card')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: credit_repayments_source_type_known'); END;
CREATE TRIGGER credit_repayments_source_type_known_update BEFORE UPDATE OF source_type ON credit_repayments
WHEN NEW.source_type NOT IN ('balance', 'card')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: credit_repayments_source_type_known'); END;
CREATE TRIGGER decisions_status_known_insert BEFORE INSERT ON decisions
WHEN NEW.status NOT IN ('unpaid', 'paid', 'revoked')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: decisions_status_known'); END;
CREATE TRIGGER decisions_status_known_update BEFORE UPDATE OF status ON decisions
WHEN NEW.status NOT IN ('unpaid', 'paid', 'revoked')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: decisions_status_known'); END;
CREATE TRIGGER ledger_transactions_kind_known_insert BEFORE INSERT ON ledger_transactions
WHEN NEW.kind NOT IN ('top_up', 'payment', 'refund', 'credit_repayment')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: ledger_transactions_kind_known'); END;
CREATE TRIGGER ledger_transactions_kind_known_update BEFORE UPDATE OF kind ON ledger_transactions
WHEN NEW.kind NOT IN ('top_up', 'payment', 'refund', 'credit_repayment')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: ledger_transactions_kind_known'); END;
CREATE TRIGGER outbox_kind_known_insert BEFORE INSERT ON outbox
WHEN NEW.kind NOT IN ('payment_notice', 'card_refund', 'orphan_charge_refund', 'event')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: outbox_kind_known'); END;
CREATE TRIGGER outbox_kind_known_update BEFORE UPDATE OF kind ON outbox
WHEN NEW.kind NOT IN ('payment_notice', 'card_refund', 'orphan_charge_refund', 'event')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: outbox_kind_known'); END;
CREATE TRIGGER outbox_outcome_known_insert BEFORE INSERT ON outbox
WHEN NEW.outcome IS NOT NULL AND NEW.outcome NOT IN ('confirmed', 'rejected', 'refunded', 'refund_refused', 'published')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: outbox_outcome_known'); END;
CREATE TRIGGER outbox_outcome_known_update BEFORE UPDATE OF outcome ON outbox
WHEN NEW.outcome IS NOT NULL AND NEW.outcome NOT IN ('confirmed', 'rejected', 'refunded', 'refund_refused', 'published')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: outbox_outcome_known'); END;
