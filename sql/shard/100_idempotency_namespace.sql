-- One idempotency contract (issue 21): a key is namespaced by the character that sends it and
-- the operation, so another character's identical key is that character's own request (it was
-- refused as reused before). Treasury, crew-bank, vendor and trade keys move here from their
-- ledger rows (transaction_history.idempotency_key, trade_sessions.idempotency_key stay for
-- rows written before): this table moves with the character, so a retry after a shard move
-- still finds its key.
ALTER TABLE idempotency_keys DROP PRIMARY KEY, ADD PRIMARY KEY (character_id, operation, key_hash);
