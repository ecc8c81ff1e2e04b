import { ValidationError } from '../errors.js';
import { errnoOf } from '../pool/mysql-errors.js';

/** MariaDB's "CONSTRAINT ... failed" (a CHECK constraint refused the row). */
const ER_CONSTRAINT_FAILED = 4025;

/** The largest balance: above it a JavaScript number no longer holds every integer. */
export const MAX_BALANCE = Number.MAX_SAFE_INTEGER;

/**
 * The typed form of the `chk_characters_money_max` CHECK (sql/shard/111_money_ceiling.sql): any
 * write that would take a balance past 2^53 - 1 fails as a ValidationError on `money` (the
 * transaction is rolled back, nothing changed) instead of a raw driver error. Other errors pass.
 */
export function balanceLimitError(error: unknown): unknown {
  if (errnoOf(error) !== ER_CONSTRAINT_FAILED || !String((error as Error)?.message).includes('chk_characters_money_max')) return error;
  return new ValidationError('balance', [{ field: 'money', message: `a balance would exceed ${MAX_BALANCE} (2^53 - 1)` }], {
    cause: error,
  });
}
