import type { z } from 'zod';
import { ValidationError, type FieldIssue } from '../../errors.js';

/** The most elements one `defineMany` call takes (reference data: one two-phase commit per batch). */
export const DEFINE_MANY_MAX = 1_000;
/** Rows per multi-row INSERT of a batch (also bounded in bytes, under the server's packet limit). */
export const DEFINE_MANY_ROWS = 250;

/**
 * Validates a batch before any SQL: an array of at most `max` elements, each parsed by `schema`.
 * Every bad element is named with its index (`items[3].itemName`); one bad element refuses the
 * whole batch (a ValidationError listing every issue), so a batch is all or nothing.
 * @internal
 */
export function parseBatch<S extends z.ZodType>(
  schema: S,
  inputs: unknown,
  what: string,
  label: string,
  max = DEFINE_MANY_MAX,
): Array<z.output<S>> {
  if (!Array.isArray(inputs)) throw new ValidationError(what, [{ field: label, message: 'must be an array' }]);
  if (inputs.length > max)
    throw new ValidationError(what, [{ field: label, message: `at most ${max} per batch, got ${inputs.length} (split it)` }]);
  const issues: FieldIssue[] = [];
  const out: Array<z.output<S>> = [];
  for (const [i, input] of inputs.entries()) {
    const result = schema.safeParse(input);
    if (result.success) out.push(result.data);
    else
      for (const issue of result.error.issues)
        issues.push({ field: [`${label}[${i}]`, ...issue.path.map(String)].join('.'), message: issue.message });
  }
  if (issues.length > 0) throw new ValidationError(what, issues);
  return out;
}

/**
 * The first element whose `key` repeats an earlier one's, as a field issue (`abilities[4].abilityId`
 * same as `abilities[1]`); undefined when every key is distinct (undefined keys are skipped).
 */
export function repeatedKey<T>(elements: T[], key: (element: T) => unknown, label: string, field: string): FieldIssue | undefined {
  const seen = new Map<unknown, number>();
  for (const [i, element] of elements.entries()) {
    const k = key(element);
    if (k === undefined) continue;
    const first = seen.get(k);
    if (first !== undefined) return { field: `${label}[${i}].${field}`, message: `same as ${label}[${first}].${field}` };
    seen.set(k, i);
  }
  return undefined;
}

/** The value a duplicate-key error names (`Duplicate entry 'X' for key ...`), or `?` when it names none. */
export function duplicateEntry(error: unknown): string {
  const message = (error as { sqlMessage?: string }).sqlMessage ?? '';
  return /Duplicate entry '(.*)' for key/.exec(message)?.[1] ?? '?';
}
