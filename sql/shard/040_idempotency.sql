-- Idempotency keys of single-shard calls that move money or items (characters.adjustMoney,
-- inventory.grant). The row is written in the same transaction as the change, so after an
-- ambiguous COMMIT (OutcomeUnknownError) a retry with the same key either finds it (the first
-- call committed: its result is returned, nothing is applied again) or does not (nothing
-- committed: the call runs). The key is bound to the character, the operation and a hash of the
-- request: the same key with other content is refused (IdempotencyKeyReusedError).
-- Owned by the character: moves with it between shards (src/sql/character-rows.ts) and goes
-- with it on delete.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key_hash BINARY(32) NOT NULL PRIMARY KEY, -- SHA-256 of the caller's key
    character_id INT NOT NULL,
    operation VARCHAR(32) NOT NULL,
    request_hash BINARY(32) NOT NULL, -- SHA-256 of the canonical request
    result TEXT NOT NULL, -- the first call's result, JSON
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY (character_id) REFERENCES characters(character_id) ON DELETE CASCADE,
    INDEX idx_idempotency_keys_character (character_id),
    INDEX idx_idempotency_keys_created (created_at)
);
