-- New (issue 11): indexes for the game-system calls. Nothing dropped or renamed.

-- Trade windows: open windows of a character (either side) and expiry sweeps.
CREATE INDEX IF NOT EXISTS idx_trade_sessions_open ON trade_sessions (trade_status, expires_date);

-- Vendor purchases and sales by vendor (ledger reads, bank test).
CREATE INDEX IF NOT EXISTS idx_transaction_history_vendor ON transaction_history (vendor_id, transaction_date);

-- Combat history of a target (initiator is already the first column of idx_combat_participants).
CREATE INDEX IF NOT EXISTS idx_combat_target ON combat_encounters (target_id, start_time);

-- Equipment: an item is in at most one slot (NULLs, empty slots, do not collide).
CREATE UNIQUE INDEX IF NOT EXISTS uq_character_equipment_item ON character_equipment (item_id);

-- Vendor purchases and sales accept an idempotency key: a retried call finds its ledger row
-- (UNIQUE: claimed in the same transaction as the purchase) instead of buying twice.
ALTER TABLE transaction_history ADD COLUMN IF NOT EXISTS idempotency_key VARCHAR(64) NULL;
CREATE UNIQUE INDEX IF NOT EXISTS uq_transaction_history_idempotency ON transaction_history (idempotency_key);
