-- Presence (issue 18): one holder per character across all district servers. The claim table
-- lives on global so a claim, a takeover and "where is X" are each one statement on one node.
-- A row is kept after release (server_id NULL) so the character's fencing token only grows:
-- every claim or takeover adds one, and writes carrying an older token are refused.
-- Expiry is judged by this server's clock (NOW(6)), never by a process's clock.
CREATE TABLE IF NOT EXISTS presence_claims (
    character_id INT NOT NULL PRIMARY KEY,
    server_id VARCHAR(64) NULL, -- NULL: released
    district_id INT NULL,
    fencing_token BIGINT NOT NULL DEFAULT 0,
    ttl_sec INT NOT NULL DEFAULT 30,
    claimed_at TIMESTAMP(6) NULL,
    expires_at TIMESTAMP(6) NULL,
    FOREIGN KEY (character_id) REFERENCES character_directory(character_id) ON DELETE CASCADE,
    INDEX idx_presence_claims_server (server_id),
    INDEX idx_presence_claims_expires (expires_at)
);

-- One-time world-entry tickets, issued at character select and consumed once by the district
-- server. Only the SHA-256 of the ticket is stored.
CREATE TABLE IF NOT EXISTS presence_handoffs (
    ticket_hash BINARY(32) NOT NULL PRIMARY KEY,
    account_id INT NOT NULL,
    character_id INT NOT NULL,
    server_id VARCHAR(64) NOT NULL,
    district_id INT NOT NULL,
    -- A transfer between servers names the claim it replaces; NULL for a plain entry.
    from_fencing_token BIGINT NULL,
    created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    expires_at TIMESTAMP(6) NOT NULL,
    consumed_at TIMESTAMP(6) NULL,
    FOREIGN KEY (character_id) REFERENCES character_directory(character_id) ON DELETE CASCADE,
    INDEX idx_presence_handoffs_character (character_id),
    INDEX idx_presence_handoffs_expires (expires_at)
);
