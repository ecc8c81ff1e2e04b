import { z } from 'zod';

/**
 * Bytes, not only rows, bound what the write-behind buffer sends: MariaDB refuses a statement over
 * `max_allowed_packet` (16 MiB by default; error 1153, and it drops the connection), so a batch
 * of 500 rows of 64 KiB chat lines (about 32 MiB) could never be written and was rebuilt forever.
 */

/** The most a log row's JSON (`logs.action` details, `logs.system` data) may take, serialised. */
export const LOG_JSON_MAX_BYTES = 65_536;

/**
 * A batch statement's estimated size stays under this: a quarter of the server's default
 * `max_allowed_packet`, leaving room for escaping (a quote or backslash doubles) and SQL text.
 */
export const BATCH_MAX_BYTES = 4 * 1024 * 1024;

/** The smallest byte budget a shard that answered 1153 is tried with (one row still goes alone). */
export const BATCH_MIN_BYTES = 64 * 1024;

/** @internal A JSON object for a log row, at most {@link LOG_JSON_MAX_BYTES} serialised (a ValidationError naming the field otherwise). */
export const boundedJson = z.record(z.string(), z.unknown()).superRefine((value, ctx) => {
  let bytes: number;
  try {
    bytes = Buffer.byteLength(JSON.stringify(value), 'utf8');
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be serialisable as JSON' });
    return;
  }
  if (bytes > LOG_JSON_MAX_BYTES) ctx.addIssue({ code: 'custom', message: `must be at most ${LOG_JSON_MAX_BYTES} bytes as JSON, got ${bytes}` });
});

/** Estimated bytes of one row's values in a statement (strings by UTF-8 length, twice for escaping). */
export function valueBytes(values: Iterable<unknown>): number {
  let n = 16;
  for (const v of values) {
    if (typeof v === 'string') n += 2 * Buffer.byteLength(v, 'utf8') + 4;
    else if (Buffer.isBuffer(v)) n += 2 * v.length + 4;
    else n += 32;
  }
  return n;
}

/**
 * Splits `items` into batches of at most `maxRows` rows and `maxBytes` estimated bytes; a row
 * larger than `maxBytes` on its own goes alone (the shard then decides: written, or a dead letter).
 */
export function batchesByBytes<T>(items: T[], maxRows: number, maxBytes: number, bytesOf: (item: T) => number): T[][] {
  const out: T[][] = [];
  let batch: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = bytesOf(item);
    if (batch.length > 0 && (batch.length >= maxRows || bytes + size > maxBytes)) {
      out.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(item);
    bytes += size;
  }
  if (batch.length > 0) out.push(batch);
  return out;
}
