/**
 * IN-lists with few distinct shapes. Every distinct statement text is a server-side prepared
 * statement on every connection that runs it, and MariaDB caps them server-wide
 * (`max_prepared_stmt_count`, 16,382 by default): a list whose length follows the input (1..1,000
 * ids) would make up to 1,000 statements per connection. Padding the list to the next power of two
 * with a repeated value (which changes nothing in an `IN`) leaves 11 shapes up to 1,024.
 */

/** Lists longer than this are padded to a multiple of it (callers chunk long lists anyway). */
const LARGEST_SHAPE = 1_024;

/** The padded length of a list of `n` values: the next power of two, or a multiple of 1,024. */
export function paddedLength(n: number): number {
  if (n <= 1) return 1;
  if (n > LARGEST_SHAPE) return Math.ceil(n / LARGEST_SHAPE) * LARGEST_SHAPE;
  return 2 ** Math.ceil(Math.log2(n));
}

/**
 * `(?, ?, ...)` for `values` padded to {@link paddedLength} and the matching parameters (the last
 * value repeated). For `IN` only: never for VALUES rows, where a repeat would be a second row.
 * @example
 * const list = inList(ids);
 * await conn.rows(`SELECT ... WHERE character_id IN ${list.sql}`, list.params);
 */
export function inList<T>(values: readonly T[]): { sql: string; params: T[] } {
  if (values.length === 0) throw new Error('inList needs at least one value');
  const n = paddedLength(values.length);
  const params = values.slice();
  const last = values[values.length - 1]!;
  while (params.length < n) params.push(last);
  return { sql: `(${new Array<string>(n).fill('?').join(',')})`, params };
}

/**
 * A statement whose text holds the same IN-list `uses` times (a UNION ALL whose every part filters
 * on the same keys), built once per padded size: for `keys`, its text and its parameters (the
 * padded list once per use).
 * @example
 * const statement = inListStatement((list) => `SELECT ... WHERE a.id IN ${list} UNION ALL SELECT ... WHERE b.id IN ${list}`, 2);
 * const { sql, params } = statement(ids);
 */
export function inListStatement(build: (list: string) => string, uses: number): (keys: number[]) => { sql: string; params: number[] } {
  const bySize: string[] = [];
  return (keys) => {
    const { sql: list, params } = inList(keys);
    const sql = (bySize[paddedLength(keys.length)] ??= build(list));
    return { sql, params: new Array<number[]>(uses).fill(params).flat() };
  };
}
