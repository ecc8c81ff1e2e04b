-- Login hardening and two-factor (issue 9, issue 12).
-- login_throttle: failed logins counted per (username, address) and per address, so one
-- address cannot lock an account for everyone else; keyed by the username as typed (lower
-- case), known or not, so the answer and its cost never tell which usernames exist.
CREATE TABLE IF NOT EXISTS login_throttle (
    throttle_key VARCHAR(96) NOT NULL PRIMARY KEY,
    failures INT NOT NULL DEFAULT 0,
    window_started DATETIME NOT NULL,
    locked_until DATETIME NULL,
    INDEX idx_login_throttle_window (window_started)
);

-- The last TOTP time step accepted, so a code cannot be replayed within its window.
ALTER TABLE account_security ADD COLUMN IF NOT EXISTS two_factor_last_step BIGINT NULL;

-- Reset tokens are looked up by their SHA-256.
CREATE INDEX IF NOT EXISTS idx_account_security_reset ON account_security (password_reset_token);

-- Active punishments of an account by type (login, chat).
CREATE INDEX IF NOT EXISTS idx_punishments_type ON account_punishments (account_id, punishment_type, is_active);
