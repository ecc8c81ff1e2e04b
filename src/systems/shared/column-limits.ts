import { z } from 'zod';

/**
 * zod schemas for the columns' real limits, so bad input is a ValidationError at the call and
 * never a driver error at write time (or, in a write-behind flush, a poisoned batch).
 */

/** Largest magnitude a MariaDB FLOAT column stores (about 3.4028e38); beyond it the server refuses the row. */
export const FLOAT_MAX = 3.4e38;

/** A finite number a FLOAT column can hold. */
export const floatColumn = z
  .number()
  .finite()
  .refine((x) => Math.abs(x) <= FLOAT_MAX, { message: `must be within ±${FLOAT_MAX} (FLOAT column)` });

/** TEXT holds 65,535 bytes, not characters: an emoji is 4 bytes in utf8mb4. */
export const TEXT_MAX_BYTES = 65_535;

export function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** A string for a TEXT column (at most 65,535 UTF-8 bytes). */
export function textColumn(min = 0) {
  return z
    .string()
    .min(min)
    .refine((s) => utf8Bytes(s) <= TEXT_MAX_BYTES, { message: `must be at most ${TEXT_MAX_BYTES} bytes in UTF-8 (TEXT column)` });
}

/**
 * A string for a VARCHAR(n) utf8mb4 column: at most `n` characters (code points; an emoji is one
 * character but two UTF-16 units), hence at most 4n bytes.
 */
export function varcharColumn(n: number, min = 0) {
  return z
    .string()
    .min(min)
    .refine((s) => [...s].length <= n, { message: `must be at most ${n} characters (VARCHAR(${n}))` });
}
