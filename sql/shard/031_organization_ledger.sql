-- Organization treasury movements (issue 12): a deposit or withdrawal writes a ledger row on
-- the character's shard. The ENUM gains two values at its end; built from the column's current
-- definition so values another migration added are kept whatever order the files ran in.
SET @mxo_transaction_type = (SELECT COLUMN_TYPE FROM information_schema.COLUMNS
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'transaction_history' AND COLUMN_NAME = 'transaction_type');
SET @mxo_transaction_type_ddl = IF(@mxo_transaction_type LIKE '%''organization_deposit''%', 'DO 0',
    CONCAT('ALTER TABLE transaction_history MODIFY transaction_type ',
           LEFT(@mxo_transaction_type, CHAR_LENGTH(@mxo_transaction_type) - 1),
           ',''organization_deposit'',''organization_withdrawal'') NOT NULL'));
PREPARE mxo_transaction_type_stmt FROM @mxo_transaction_type_ddl;
EXECUTE mxo_transaction_type_stmt;
DEALLOCATE PREPARE mxo_transaction_type_stmt;

-- Retry-safe money calls store their idempotency key with the ledger row (the same column and
-- index as 020_game_systems.sql; IF NOT EXISTS makes whichever runs second a no-op).
ALTER TABLE transaction_history ADD COLUMN IF NOT EXISTS idempotency_key VARCHAR(64) NULL;
CREATE UNIQUE INDEX IF NOT EXISTS uq_transaction_history_idempotency ON transaction_history (idempotency_key);
