/** Account inputs and results: the public shapes and their zod schemas (src/systems/accounts/accounts.ts uses them). */
import { z } from 'zod';
import type { Same } from '../../validate.js';
import { schemaFor } from '../../validate.js';
import { type LoginKeys, type StoredLoginKeys } from './account-keys.js';
import { clientAddressBucket } from '../../auth/client-address.js';

/** @internal */
export const password = z.string().min(8, 'at least 8 characters').max(128);
/** @internal An email address (a password reset names one). */
export const emailAddress = z
  .string()
  .max(255)
  .regex(/^[^\s@]+@[^\s@]+$/, 'must be an email address');
/** Optional (contract part four): neither MxO emulator keeps an email; the column is NULL then. */
const email = emailAddress.optional();
/** @internal The same rule register applies, for reads by username (byUsername, the admin-level command). */
export const username = z.string().regex(/^[A-Za-z0-9_.-]{3,32}$/, '3-32 letters, digits, _, . or -');
/** @internal accounts.admin_level is a signed TINYINT: 0 player, 1..127 moderator/GM. */
export const adminLevel = z.number().int().min(0, '0 (player) or more').max(127, 'at most 127 (accounts.admin_level is a TINYINT)');
/** @internal */
export const registerInput = z
  .object({
    username,
    // Deliberately lenient (something@somewhere): a stricter rule rejects real addresses.
    email,
    password,
  })
  .strict();

/** @internal */
export const loginInput = z
  .object({
    // No spaces: the column's PAD SPACE collation would match 'neo   ' to neo under another throttle key.
    username: z
      .string()
      .min(1)
      .max(32)
      .regex(/^[^\s\p{Cc}]+$/u, 'no spaces or control characters'),
    password: z.string().min(1).max(128),
    ip: z
      .string()
      .min(1)
      .max(45)
      .refine((v) => clientAddressBucket(v) !== undefined, 'an IPv4 or IPv6 address'),
    userAgent: z.string().max(512).optional(),
    /** A 6-digit TOTP code, or one of the recovery codes. */
    totp: z.string().min(1).max(32).optional(),
  })
  .strict();

/** @internal */
export const accountId = z.number().int().positive();
/** @internal */
export const keyBytes = z
  .custom<Uint8Array>((v) => v instanceof Uint8Array, 'must be a Uint8Array')
  .refine((b) => b.length >= 1 && b.length <= 1024, '1-1024 bytes');
/** @internal */
export const loginKeysInput = schemaFor<LoginKeys>()(z.object({ modulus: keyBytes, privateExponent: keyBytes }).strict());
/** @internal */
export const legacyInput = schemaFor<LegacyAccountInput>()(
  z
    .object({
      username: registerInput.shape.username,
      email: registerInput.shape.email,
      legacyHash: z.discriminatedUnion('kind', [
        z.object({ kind: z.literal('md5'), hash: z.string().regex(/^[0-9a-fA-F]{32}$/, '32 hex digits') }).strict(),
        z
          .object({
            kind: z.literal('salted-sha1'),
            hash: z.string().regex(/^[0-9a-fA-F]{40}$/, '40 hex digits'),
            salt: z.string().refine((v) => Buffer.byteLength(v, 'utf8') >= 1 && Buffer.byteLength(v, 'utf8') <= 48, '1-48 bytes'),
          })
          .strict(),
        z
          .object({
            kind: z.literal('reality'),
            // Reality stores CryptoPP's lower-case hex; upper case is accepted and compared lower-cased.
            hash: z.string().regex(/^[0-9a-fA-F]{40}$/, '40 hex digits'),
            salt: z.string().refine((v) => Buffer.byteLength(v, 'utf8') >= 1 && Buffer.byteLength(v, 'utf8') <= 48, '1-48 bytes'),
          })
          .strict(),
      ]),
    })
    .strict(),
);

/** An account imported from an older server. */
export interface LegacyAccountInput {
  username: string;
  /** Optional: neither MxO emulator keeps one. */
  email?: string;
  legacyHash: LegacyHashInput;
}

/** The old server's hash: MD5(password), or SHA-1(salt + password) with its salt (1-48 bytes of UTF-8). */
export type LegacyHashInput =
  | { kind: 'md5'; hash: string }
  | { kind: 'salted-sha1'; hash: string; salt: string }
  /** Reality (rajkosto/mxoemu): SHA1hex(SHA1hex(salt) + SHA1hex(password)), lowercase hex. */
  | { kind: 'reality'; hash: string; salt: string };
/** @internal */
export const token = z.string().min(1).max(256);

export interface RegisterInput {
  username: string;
  /** Optional: neither MxO emulator keeps one (password reset by email is then unavailable). */
  email?: string;
  password: string;
}

export interface LoginInput {
  username: string;
  password: string;
  ip: string;
  userAgent?: string;
  /** Required once two-factor is on: the authenticator's code, or a recovery code. */
  totp?: string;
}

export interface LoginResult {
  accountId: number;
  sessionToken: string;
  expiresAt: Date;
}

export interface PasswordResetRequest {
  /** Mail it to the address; null when no account has that email (answer the user the same way). */
  token: string | null;
  expiresAt: Date;
}

export interface TwoFactorSetup {
  /** Base32 shared secret for the authenticator app. */
  secret: string;
  otpauthUrl: string;
  /** Shown once; each works once in place of a code. Only their hashes are stored. */
  recoveryCodes: string[];
}

/** An account as byUsername reads it: no secret (no hash, salt, email or keys). */
export interface AccountSummary {
  accountId: number;
  username: string;
  /** accounts.account_status: 'active', 'suspended', 'banned' or 'pending'. */
  status: 'active' | 'suspended' | 'banned' | 'pending';
  createdAt: Date;
  /** 0 player, >= 1 moderator/GM. */
  adminLevel: number;
}

// The public types above and their schemas agree both ways (compile-time only; Same in src/validate.ts).
const agrees: [Same<z.input<typeof registerInput>, RegisterInput>, Same<z.input<typeof loginInput>, LoginInput>] = [true, true];
void agrees;
