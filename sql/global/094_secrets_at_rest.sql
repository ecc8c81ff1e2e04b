-- Secrets at rest (issue 23, M7). Imported MD5/SHA-1 hashes are stored wrapped in scrypt
-- ($sha1-scrypt$<old salt>$<PHC>, up to ~170 characters); TOTP secrets are stored sealed
-- (AES-256-GCM under MXO_LOGIN_KEY_SECRET, "v2:<base64url>", 76 characters). Rows written before
-- stay readable: plain legacy hashes still verify and a plaintext TOTP secret still checks;
-- accounts.protectSecretsAtRest() wraps and seals them (it needs scrypt and the secret, not SQL).
ALTER TABLE accounts MODIFY password_hash VARCHAR(255) NOT NULL;
ALTER TABLE account_security MODIFY two_factor_secret VARCHAR(128) NULL;
-- account_login_keys.encrypted is the seal version: 0 plaintext (only with allowPlaintext),
-- 1 the key HKDF-derived from the secret's text (before this file), 2 a 32-byte secret's key.
