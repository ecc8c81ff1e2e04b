import { z } from 'zod';

/**
 * The one module of field rules for the game-system calls: ids, amounts and the columns' real
 * limits, so bad input is a ValidationError at the call and never a driver error at write time
 * (or, in a write-behind flush, a poisoned batch). MariaDB's utf8mb4 VARCHAR(n) counts
 * characters (code points), TEXT counts bytes.
 */

/**
 * Schemas for the columns' real limits, so bad input is a ValidationError at the call and
 * never a driver error at write time (or, in a write-behind flush, a poisoned batch).
 */

/** Largest magnitude a MariaDB FLOAT column stores (about 3.4028e38); beyond it the server refuses the row. */
export const FLOAT_MAX = 3.4e38;

/** @internal A finite number a FLOAT column can hold. */
export const floatColumn = z
  .number()
  .finite()
  .refine((x) => Math.abs(x) <= FLOAT_MAX, { message: `must be within ±${FLOAT_MAX} (FLOAT column)` });

/** TEXT holds 65,535 bytes, not characters: an emoji is 4 bytes in utf8mb4. */
export const TEXT_MAX_BYTES = 65_535;

export function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** @internal A string for a TEXT column (at most 65,535 UTF-8 bytes). */
export function textColumn(min = 0) {
  return z
    .string()
    .min(min)
    .refine((s) => utf8Bytes(s) <= TEXT_MAX_BYTES, { message: `must be at most ${TEXT_MAX_BYTES} bytes in UTF-8 (TEXT column)` });
}

/** @internal
 * A string for a VARCHAR(n) utf8mb4 column: at most `n` characters (code points; an emoji is one
 * character but two UTF-16 units), hence at most 4n bytes.
 */
export function varcharColumn(n: number, min = 0) {
  return z
    .string()
    .min(min)
    .refine((s) => [...s].length <= n, { message: `must be at most ${n} characters (VARCHAR(${n}))` });
}

/** @internal Input rules shared by the game-system calls (column sizes from the schema). */
export const id = z.number().int().positive().max(2_147_483_647);
/** @internal A district id: districts are numbered from 0 (the tutorial); the loading area is 0x385. */
export const districtId = z.number().int().min(0).max(2_147_483_647);
/** @internal An amount of money moved (at least 1, within a signed INT). */
export const positiveAmount = z.number().int().positive().max(2_147_483_647);
/** @internal A BIGINT id (items, encounters, world ids). */
export const bigId = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
/** @internal A signed INT column's non-negative range. */
export const amount = z.number().int().min(0).max(2_147_483_647);
/** @internal A FLOAT column: finite and within FLOAT's range (the same rule as {@link floatColumn}). */
export const float = floatColumn;
/** @internal A TIMESTAMP column (1970 to 2037): a Date, or a string the Date constructor reads. */
export const timestamp = z.coerce
  .date<Date | string>()
  .refine((d) => !Number.isNaN(d.getTime()) && d.getUTCFullYear() >= 1970 && d.getUTCFullYear() < 2038, 'a TIMESTAMP date');
/** @internal */
export const position = z.object({ x: float, y: float, z: float }).strict();
/** @internal */
export const rotation = z.object({ x: float, y: float, z: float, w: float }).strict();
/** @internal */
export const faction = z.enum(['zion', 'machine', 'merovingian']);

/** @internal A VARCHAR(n) column, at least `min` long: {@link varcharColumn} (code points, as MariaDB counts). */
export function varchar(max: number, min = 1): z.ZodString {
  return varcharColumn(max, min);
}

/** @internal A TEXT column: at most 65,535 bytes in utf8mb4 ({@link textColumn}). */
export const text = textColumn();

/** @internal A JSON object or array stored in a JSON column, bounded to 64 KiB of serialised text. */
export const jsonValue = z
  .union([z.record(z.string(), z.unknown()), z.array(z.unknown())])
  .refine((v) => Buffer.byteLength(JSON.stringify(v), 'utf8') <= 65_536, 'larger than 64 KiB as JSON');

/** Parses a JSON column value (mysql2 returns JSON as a string from MariaDB). */
export function fromJson<T>(value: unknown, fallback: T): T {
  if (value === null || value === undefined) return fallback;
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

/** `?, ?, ?` for an IN list. */
export function marks(values: unknown[]): string {
  return values.map(() => '?').join(', ');
}

/** @internal
 * The one schema of `idempotencyKey`, the field every retry-safe call takes (the contract is in
 * src/routing/idempotency.ts). Stored hashed, so any text up to 128 characters.
 */
export const idempotencyKey = varchar(128).optional();
/** @internal A presence claim's fencing token (the router compares it with the character's row). */
export const fencingTokenValue = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
/** @internal The optional `fencingToken` of a character write's options. */
export const fencingToken = fencingTokenValue.optional();
/** @internal The options of a keyed character write: its idempotency key and the caller's fencing token. */
export const idempotencyOptions = z.object({ idempotencyKey, fencingToken }).strict();
