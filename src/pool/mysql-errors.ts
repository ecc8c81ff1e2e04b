/** MariaDB error numbers the library reacts to. */
export const ER_DUP_ENTRY = 1062;
export const ER_LOCK_WAIT_TIMEOUT = 1205;
export const ER_LOCK_DEADLOCK = 1213;
export const ER_NO_REFERENCED_ROW = 1452;
export const ER_XAER_NOTA = 1397;
export const ER_XA_RBROLLBACK = 1402;
export const ER_CONNECTION_KILLED = 1927;

interface DriverError {
  errno?: number;
  code?: string;
  fatal?: boolean;
  sqlMessage?: string;
}

export function errnoOf(error: unknown): number | undefined {
  return (error as DriverError | undefined)?.errno;
}

/** True when the connection that raised `error` can no longer be used. */
export function isConnectionLost(error: unknown): boolean {
  const e = error as DriverError | undefined;
  if (!e) return false;
  if (e.fatal) return true;
  return (
    e.errno === ER_CONNECTION_KILLED ||
    ['PROTOCOL_CONNECTION_LOST', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'PROTOCOL_SEQUENCE_TIMEOUT']
      .includes(e.code ?? '')
  );
}

/** Deadlocks and lock wait timeouts: the transaction was rolled back and may be retried. */
export function isRetryableLockError(error: unknown): boolean {
  const n = errnoOf(error);
  return n === ER_LOCK_DEADLOCK || n === ER_LOCK_WAIT_TIMEOUT;
}

/** A duplicate-key error, optionally on a named unique key. */
export function isDuplicateKey(error: unknown, key?: string): boolean {
  if (errnoOf(error) !== ER_DUP_ENTRY) return false;
  return key === undefined || ((error as DriverError).sqlMessage ?? '').includes(`'${key}'`);
}
