import { z } from 'zod';

/** Input rules shared by the game-system calls (column sizes from the schema). */
export const id = z.number().int().positive().max(2_147_483_647);
/** A BIGINT id (items, encounters, world ids). */
export const bigId = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
/** A signed INT column's non-negative range. */
export const amount = z.number().int().min(0).max(2_147_483_647);
/** A FLOAT column: finite and within FLOAT's range. */
export const float = z.number().finite().min(-3.4e38).max(3.4e38);
export const position = z.object({ x: float, y: float, z: float }).strict();
export const rotation = z.object({ x: float, y: float, z: float, w: float }).strict();
export const faction = z.enum(['zion', 'machine', 'merovingian']);

/** A VARCHAR(n) column: at most n characters (MariaDB counts characters, not bytes). */
export function varchar(max: number, min = 1): z.ZodString {
  return z.string().min(min).max(max);
}

/** A TEXT column: at most 65,535 bytes in utf8mb4. */
export const text = z.string().refine((s) => Buffer.byteLength(s, 'utf8') <= 65_535, 'longer than 65535 bytes');

/** A JSON object or array stored in a JSON column, bounded to 64 KiB of serialised text. */
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

/**
 * The one schema of `idempotencyKey`, the field every retry-safe call takes (the contract is in
 * src/routing/idempotency.ts). Stored hashed, so any text up to 128 characters.
 */
export const idempotencyKey = varchar(128).optional();
/** The options of a call whose only option is its idempotency key. */
export const idempotencyOptions = z.object({ idempotencyKey }).strict();
