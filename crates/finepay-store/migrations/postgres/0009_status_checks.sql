-- Every status, kind and method column accepts only the names the code maps (finepay-domain's
-- enums, read and written by name in the store): a row no code can read cannot be written.
ALTER TABLE payments ADD CONSTRAINT payments_status_known
    CHECK (status IN ('processing', 'succeeded', 'failed', 'refunded'));
ALTER TABLE payments ADD CONSTRAINT payments_authority_status_known
    CHECK (authority_status IN ('pending', 'confirmed', 'rejected'));
ALTER TABLE payments ADD CONSTRAINT payments_method_type_known
    CHECK (method_type IN ('balance', 'credit', 'card'));
ALTER TABLE top_ups ADD CONSTRAINT top_ups_status_known
    CHECK (status IN ('processing', 'succeeded', 'failed'));
ALTER TABLE credit_repayments ADD CONSTRAINT credit_repayments_status_known
    CHECK (status IN ('processing', 'succeeded', 'failed'));
ALTER TABLE credit_repayments ADD CONSTRAINT credit_repayments_source_type_known
    CHECK (source_type IN ('balance', 'card'));
ALTER TABLE decisions ADD CONSTRAINT decisions_status_known
    CHECK (status IN ('unpaid', 'paid', 'revoked'));
ALTER TABLE ledger_transactions ADD CONSTRAINT ledger_transactions_kind_known
    CHECK (kind IN ('top_up', 'payment', 'refund', 'credit_repayment'));
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_known
    CHECK (kind IN ('payment_notice', 'card_refund', 'orphan_charge_refund', 'event'));
ALTER TABLE outbox ADD CONSTRAINT outbox_outcome_known
    CHECK (outcome IS NULL OR outcome IN ('confirmed', 'rejected', 'refunded', 'refund_refused', 'published'));
