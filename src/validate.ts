import type { z } from 'zod';
import { ValidationError, type FieldIssue } from './errors.js';

/** Turns zod issues into field-named issues (`shards.1.primary`, `initiator.money`). */
export function toFieldIssues(error: z.ZodError, prefix: string[] = []): FieldIssue[] {
  return error.issues.map((issue) => ({
    field: [...prefix, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
}

/**
 * Validates `value` against `schema` before any SQL runs. Throws a {@link ValidationError}
 * naming every bad field (prefixed with `what`'s fields) and returns the parsed value.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ValidationError(what, toFieldIssues(result.error), { cause: result.error });
  return result.data;
}

/**
 * Ties a zod schema to the public interface it validates, at compile time: every input the schema
 * accepts must be a `T`, so the documented type and the runtime check cannot drift apart.
 * Usage: `const input = schemaFor<TradeInput>()(z.object({...}))`.
 */
export function schemaFor<T>(): <S extends z.ZodType<unknown, T>>(schema: S) => S {
  return (schema) => schema;
}

/**
 * The hot-path check of an id (a positive safe integer), without zod's per-call work: the same
 * ValidationError a zod schema would throw, naming `what`.
 */
export function positiveId(value: unknown, what: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value;
  throw new ValidationError(what, [{ field: '', message: 'must be a positive integer' }]);
}
