-- Character identity (issue 18). Creation in two steps as the client does it: the name is
-- reserved first (it expires), then the character is created under it. Only the reserving
-- account may create a character with a reserved name until the reservation expires (NOW(6)).
CREATE TABLE IF NOT EXISTS character_name_reservations (
    character_name VARCHAR(32) NOT NULL PRIMARY KEY,
    account_id INT NOT NULL,
    expires_at TIMESTAMP(6) NOT NULL,
    FOREIGN KEY (account_id) REFERENCES accounts(account_id) ON DELETE CASCADE,
    INDEX idx_character_name_reservations_expires (expires_at)
);

-- Soft delete: the directory row stays (so every row of the character can still be found) but
-- its name becomes '~<character_id>' (a form no valid name has), which frees the name.
ALTER TABLE character_directory ADD COLUMN IF NOT EXISTS deleted_at TIMESTAMP(6) NULL;
