import type { z } from 'zod';
import { ValidationError, type FieldIssue } from './errors.js';

/** @internal Turns zod issues into field-named issues (`shards.1.primary`, `initiator.money`). */
export function toFieldIssues(error: z.ZodError, prefix: string[] = []): FieldIssue[] {
  return error.issues.map((issue) => ({
    field: [...prefix, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
}

/** @internal
 * Validates `value` against `schema` before any SQL runs. Throws a {@link ValidationError}
 * naming every bad field (prefixed with `what`'s fields) and returns the parsed value.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ValidationError(what, toFieldIssues(result.error), { cause: result.error });
  return result.data;
}

/** @internal
 * Ties a zod schema to the public interface it validates, at compile time: every input the schema
 * accepts must be a `T`, so the documented type and the runtime check cannot drift apart.
 * Usage: `const input = schemaFor<TradeInput>()(z.object({...}))`.
 */
export function schemaFor<T>(): <S extends z.ZodType<unknown, T>>(schema: S & Agrees<z.input<S>, T>) => S {
  return (schema) => schema;
}

/** Nothing extra when the schema accepts exactly `T`; otherwise a field naming both types, so the call fails to compile. */
type Agrees<In, T> = Same<In, T> extends true ? unknown : { schemaInputDiffersFrom: T; schemaAccepts: In };

/**
 * @internal The hot-path check of an id (a positive safe integer), without zod's per-call work: the same
 * ValidationError a zod schema would throw, naming `what`.
 */
export function positiveId(value: unknown, what: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value;
  throw new ValidationError(what, [{ field: '', message: 'must be a positive integer' }]);
}

/**
 * @internal True when A and B are the same type (each assignable to the other). A public input
 * interface is written by hand, so the published declarations name no validation library; a
 * tuple of `Same<z.input<typeof schema>, PublicInterface>` typed `[true, ...]` next to the schema
 * stops the build when the two drift apart.
 */
export type Same<A, B> = (<G>() => G extends Flat<A> ? 1 : 2) extends <G>() => G extends Flat<B> ? 1 : 2 ? true : false;
type Flat<T> = T extends (...args: never[]) => unknown ? T : T extends Date | Uint8Array ? T : T extends readonly (infer E)[] ? Flat<E>[] : T extends object ? { [K in keyof T]: Flat<T[K]> } : T;
