import { MxoError } from '../errors.js';

/**
 * `code: message` for an operator, never the raw error: a driver error's `sql` (and sometimes
 * its message's statement) can hold secrets such as a password in `CREATE USER`.
 */
export function describeError(error: unknown): string {
  if (error instanceof MxoError) {
    const cause = error.cause !== undefined && !(error.cause instanceof MxoError) ? driverLine(error.cause) : undefined;
    return `${error.code}: ${error.message}${cause ? ` (${cause})` : ''}`;
  }
  return driverLine(error) ?? (error instanceof Error ? `${error.name}: ${error.message}` : String(error));
}

function driverLine(error: unknown): string | undefined {
  const e = error as { code?: unknown; sqlMessage?: unknown; message?: unknown };
  if (typeof e?.code !== 'string') return undefined;
  // sqlMessage is the server's own text, without the statement the driver may append.
  const message = typeof e.sqlMessage === 'string' ? e.sqlMessage : typeof e.message === 'string' ? e.message : '';
  return `${e.code}: ${message}`;
}
