/**
 * IN-lists padded to a few sizes (powers of two), so a statement built for n keys is one of
 * log2(max) prepared statements per table instead of one per n (mysql2 caches a prepared
 * statement per SQL text on each connection; MariaDB counts them against
 * max_prepared_stmt_count).
 */

/** The padded size of an IN-list of `n` keys: the next power of two (1, 2, 4, 8, ...). */
export function paddedSize(n: number): number {
  let size = 1;
  while (size < n) size *= 2;
  return size;
}

/** `?, ?, ?` for `size` parameters. */
export function placeholders(size: number): string {
  return Array.from({ length: size }, () => '?').join(', ');
}

/**
 * The keys padded to {@link paddedSize} by repeating the last one (a repeated key in `IN (...)`
 * matches the same row once, so padding never adds a row).
 */
export function padKeys<K>(keys: readonly K[]): K[] {
  if (keys.length === 0) throw new RangeError('an IN-list needs at least one key');
  const padded = keys.slice();
  const last = keys[keys.length - 1]!;
  for (let i = keys.length, size = paddedSize(keys.length); i < size; i++) padded.push(last);
  return padded;
}
