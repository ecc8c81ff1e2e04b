-- Crew banks (issue 18, part C): a crew holds money on global like an organization's treasury;
-- deposits and withdrawals are two-phase commits with the character's shard, which keeps the
-- ledger row (transaction_history 'crew_deposit' / 'crew_withdrawal').
ALTER TABLE crews ADD COLUMN IF NOT EXISTS bank_amount BIGINT NOT NULL DEFAULT 0;
