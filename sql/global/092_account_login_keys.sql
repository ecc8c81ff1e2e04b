-- Accounts as the game has them (issue 18, part C): each account's RSA key pair for the login
-- ticket. The private exponent is stored AES-256-GCM encrypted when MXO_LOGIN_KEY_SECRET is set
-- in the process's environment (encrypted = TRUE), else as is (README, Known limits).
CREATE TABLE IF NOT EXISTS account_login_keys (
    account_id INT NOT NULL PRIMARY KEY,
    modulus VARBINARY(1024) NOT NULL,
    private_exponent VARBINARY(1100) NOT NULL, -- encrypted: 12-byte IV, 16-byte tag, ciphertext
    encrypted BOOLEAN NOT NULL,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    FOREIGN KEY (account_id) REFERENCES accounts(account_id) ON DELETE CASCADE
);
