/**
 * Typed errors. Every error the library throws on purpose is an {@link MxoError} with a stable
 * string `code` callers can switch on; the underlying driver error, if any, is in `cause`.
 */

/**
 * Every code an {@link MxoError} can carry: switch on `error.code` exhaustively. A new error class
 * adds its code here (the constructor accepts nothing else).
 */
export type ErrorCode =
  // input and config
  | 'VALIDATION'
  | 'CONFIG'
  // game rules (nothing was written)
  | 'NOT_FOUND'
  | 'NAME_TAKEN'
  | 'INSUFFICIENT_FUNDS'
  | 'UNKNOWN_DISTRICT'
  | 'TRADE_ABORTED'
  | 'OUT_OF_STOCK'
  | 'WRONG_DISTRICT'
  | 'REQUIREMENT_NOT_MET'
  | 'ITEM_NOT_ALLOWED'
  | 'INVALID_STATE'
  | 'FORBIDDEN'
  | 'MUTED'
  | 'AUTH'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'PRESENCE_HELD'
  | 'PRESENCE_LOST'
  | 'HANDOFF_INVALID'
  // the cluster
  | 'SHARD_UNAVAILABLE'
  | 'CLEARTEXT_AUTH_REFUSED'
  | 'SHARD_NOT_APPROVED'
  | 'ACQUIRE_TIMEOUT'
  | 'CONFLICT'
  | 'OUTCOME_UNKNOWN'
  | 'STALE_ROUTE'
  | 'DISTRICT_MOVED'
  | 'CLOSED'
  | 'WRITE_BEHIND_FULL'
  | 'WRITE_BEHIND_DEFERRED'
  | 'OVERLOADED'
  // operations
  | 'MIGRATION_DRIFT'
  | 'MIGRATION_FAILED'
  | 'SANDBOX'
  | 'BACKUP_FAILED'
  | 'RESTORE_REFUSED'
  | 'RESTORE_FAILED'
  | 'USERS_FAILED'
  | 'FAILOVER_REFUSED';

/** Base class of every error mxo-data throws on purpose. */
export class MxoError extends Error {
  /** Stable, machine-readable code (never changes between versions). */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** One problem found by input or config validation, with the path of the offending field. */
export interface FieldIssue {
  /** Dotted path of the field, e.g. `shards.1.primary` or `initiator.money`. */
  field: string;
  message: string;
}

/** Input or config failed validation; nothing was written. */
export class ValidationError extends MxoError {
  readonly issues: FieldIssue[];

  constructor(what: string, issues: FieldIssue[], options?: { cause?: unknown }) {
    const detail = issues.map((i) => `${i.field || '(root)'}: ${i.message}`).join('; ');
    super('VALIDATION', `invalid ${what}: ${detail}`, options);
    this.issues = issues;
  }

  /** The fields named by the issues, for quick assertions and UI highlighting. */
  get fields(): string[] {
    return this.issues.map((i) => i.field);
  }
}

/** The cluster config is invalid (bad URL, district owned twice, unknown key, ...). */
export class ConfigError extends ValidationError {
  constructor(issues: FieldIssue[], options?: { cause?: unknown }) {
    super('cluster config', issues, options);
    (this as { code: ErrorCode }).code = 'CONFIG';
  }
}

/** A row the caller named does not exist (character, account, item, template). */
export class NotFoundError extends MxoError {
  constructor(readonly entity: string, readonly id: string | number, options?: { cause?: unknown }) {
    super('NOT_FOUND', `${entity} ${id} not found`, options);
  }
}

/** A unique name (username, email, character name, crew name) is already in use. */
export class NameTakenError extends MxoError {
  constructor(readonly field: string, readonly value: string, options?: { cause?: unknown }) {
    super('NAME_TAKEN', `${field} "${value}" is already taken`, options);
  }
}

/** A money movement would make a balance negative. */
export class InsufficientFundsError extends MxoError {
  constructor(
    readonly characterId: number,
    readonly needed: number,
    readonly available: number,
  ) {
    super('INSUFFICIENT_FUNDS', `character ${characterId} has ${available}, needs ${needed}`);
  }
}

/** A district id that no shard in the config owns. */
export class UnknownDistrictError extends MxoError {
  constructor(readonly districtId: number) {
    super('UNKNOWN_DISTRICT', `district ${districtId} is not owned by any configured shard`);
  }
}

/** A server could not be reached or stopped answering. */
export class ShardUnavailableError extends MxoError {
  constructor(readonly node: string, options?: { cause?: unknown }) {
    super('SHARD_UNAVAILABLE', `database node ${node} is unavailable`, options);
  }
}

/** No pooled connection became free (or could be opened) within the acquire timeout. */
export class AcquireTimeoutError extends MxoError {
  constructor(readonly node: string, readonly timeoutMs: number, options?: { cause?: unknown }) {
    super('ACQUIRE_TIMEOUT', `no connection to ${node} within ${timeoutMs} ms`, options);
  }
}

/** Login refused: wrong credentials, locked, banned/suspended, two-factor needed or wrong, expired session or reset token. */
export class AuthError extends MxoError {
  constructor(
    readonly reason:
      | 'bad_credentials'
      | 'locked'
      | 'inactive'
      | 'session_invalid'
      | 'banned'
      | 'suspended'
      | 'totp_required'
      | 'totp_invalid'
      | 'reset_invalid',
    message: string,
  ) {
    super('AUTH', message);
  }
}

/** A trade could not complete; nothing changed on any shard. */
export class TradeAbortedError extends MxoError {
  constructor(readonly reason: string, options?: { cause?: unknown }) {
    super('TRADE_ABORTED', `trade aborted: ${reason}`, options);
  }
}

/**
 * A cross-shard operation reached a point where the caller cannot know whether it committed
 * (a server or connection died after prepare). Recovery settles it; `transactionId` names it.
 */
export class OutcomeUnknownError extends MxoError {
  constructor(readonly transactionId: string, options?: { cause?: unknown }) {
    super(
      'OUTCOME_UNKNOWN',
      `outcome of distributed transaction ${transactionId} is unknown; run recover() to settle it`,
      options,
    );
  }
}

/** An applied migration file changed on disk, or a migration failed on a node. */
export class MigrationError extends MxoError {
  constructor(
    code: 'MIGRATION_DRIFT' | 'MIGRATION_FAILED',
    readonly file: string,
    readonly node: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** A character's cached route pointed at a shard it no longer lives on. Retried internally. */
export class StaleRouteError extends MxoError {
  constructor(readonly characterId: number, readonly shard: string) {
    super('STALE_ROUTE', `character ${characterId} no longer lives on shard ${shard}`);
  }
}

/** The cluster object was closed. */
export class ClosedError extends MxoError {
  constructor() {
    super('CLOSED', 'the cluster has been closed');
  }
}

/**
 * A transaction kept conflicting (deadlock or lock wait timeout) after its retries, or a
 * concurrent recovery aborted it; nothing was changed and the caller may try again.
 */
export class ConflictError extends MxoError {
  constructor(readonly operation: string, message: string, options?: { cause?: unknown }) {
    super('CONFLICT', `${operation}: ${message}`, options);
  }
}

/** A vendor has fewer items of a template in stock than asked for; nothing changed. */
export class OutOfStockError extends MxoError {
  constructor(readonly vendorId: number, readonly templateId: number, readonly requested: number, readonly available: number) {
    super('OUT_OF_STOCK', `vendor ${vendorId} has ${available} of template ${templateId}, asked for ${requested}`);
  }
}

/** The character is not in the district the action needs (vendor, hardline, world object). */
export class WrongDistrictError extends MxoError {
  constructor(readonly characterId: number, readonly expected: number, readonly actual: number) {
    super('WRONG_DISTRICT', `character ${characterId} is in district ${actual}, needs district ${expected}`);
  }
}

/** The item cannot be used this way (unsellable, bound, equipped, wrong slot, not consumable). */
export class ItemNotAllowedError extends MxoError {
  constructor(readonly itemId: number, readonly reason: string) {
    super('ITEM_NOT_ALLOWED', `item ${itemId}: ${reason}`);
  }
}

/** The object is not in a state that allows the call (trade window closed or expired, interlock finished). */
export class InvalidStateError extends MxoError {
  constructor(readonly entity: string, readonly id: number, readonly state: string, message?: string) {
    super('INVALID_STATE', message ?? `${entity} ${id} is ${state}`);
  }
}

/**
 * A game rule refused the call (mission or ability requirements, mission state); nothing was
 * written. `requirement` names the rule that failed: 'level', 'faction', 'prerequisite', 'item',
 * 'repeatable', 'cooldown', 'active', 'status', 'objectives', 'archetype', 'learned' (missions,
 * abilities), 'level' or 'faction' (vendors, hardlines, items).
 */
export class RequirementError extends MxoError {
  constructor(
    readonly requirement: string,
    message: string,
  ) {
    super('REQUIREMENT_NOT_MET', `requirement not met (${requirement}): ${message}`);
  }
}

/** The same class under the name vendors, hardlines and item care use (one code, one class). */
export const RequirementNotMetError = RequirementError;
export type RequirementNotMetError = RequirementError;

/** The caller may not do this (not the crew's captain, no treasury permission in the organization). */
export class ForbiddenError extends MxoError {
  constructor(readonly action: string, message: string) {
    super('FORBIDDEN', `${action}: ${message}`);
  }
}

/** The account is muted: chat is refused until `until` (null: until lifted). */
export class MutedError extends MxoError {
  constructor(readonly accountId: number, readonly until: Date | null) {
    super('MUTED', `account ${accountId} is muted${until ? ` until ${until.toISOString()}` : ''}`);
  }
}

/** An idempotency key was used before for a different request; nothing was written. */
export class IdempotencyKeyReusedError extends MxoError {
  constructor(readonly key: string) {
    super('IDEMPOTENCY_KEY_REUSED', `idempotency key "${key}" was already used for a different request`);
  }
}

/**
 * A single-shard transaction lost its connection (or timed out) during COMMIT: it may or may not
 * have committed, and no recovery can tell. Retry with the same `idempotencyKey`: the retry
 * returns the first result if it did commit, and runs if it did not.
 */
export class CommitOutcomeUnknownError extends OutcomeUnknownError {
  constructor(readonly node: string, readonly operation: string, options?: { cause?: unknown }) {
    super(`${operation}@${node}`, options);
    this.message = `outcome of ${operation} on ${node} is unknown: the connection was lost during COMMIT; retry with the same idempotency key`;
  }
}

/** Another server holds the character's presence claim (it is in the world elsewhere); nothing was written. */
export class PresenceHeldError extends MxoError {
  constructor(
    readonly characterId: number,
    readonly holder: { serverId: string; districtId: number | null; expiresAt: Date },
  ) {
    super('PRESENCE_HELD', `character ${characterId} is held by server ${holder.serverId} until ${holder.expiresAt.toISOString()}`);
  }
}

/** The caller's presence claim was released, expired or taken over (a stale fencing token); nothing was written. */
export class PresenceLostError extends MxoError {
  constructor(
    readonly characterId: number,
    readonly fencingToken: number,
    message?: string,
  ) {
    super('PRESENCE_LOST', message ?? `character ${characterId}: fencing token ${fencingToken} no longer holds the character`);
  }
}

/** A handoff ticket is unknown, already used, expired, or meant for another server; nothing was written. */
export class HandoffInvalidError extends MxoError {
  constructor(readonly reason: 'unknown' | 'consumed' | 'expired' | 'wrong_server' | 'claim_moved') {
    super('HANDOFF_INVALID', `handoff ticket refused: ${reason}`);
  }
}

/**
 * The district moved to another shard (its fence row on the shard this process routed to says
 * 'moved'): the router reloads the placement from global and runs the call again; a caller sees
 * it only when the district kept moving. Nothing was written.
 */
export class DistrictMovedError extends MxoError {
  constructor(
    readonly districtId: number,
    readonly shard: string,
  ) {
    super('DISTRICT_MOVED', `district ${districtId} no longer lives on shard ${shard}`);
  }
}

/**
 * A bounded queue of expensive work (password hashing) is full: refused at once rather than
 * queued without limit. Nothing was written; retry later.
 */
export class OverloadedError extends MxoError {
  constructor(
    readonly resource: string,
    readonly limit: number,
  ) {
    super('OVERLOADED', `${resource} is busy (${limit} waiting); try again later`);
  }
}

/**
 * A failover refused to promote (the old primary may still take writes and could not be fenced,
 * no replica can be promoted without losing what another has, a replica did not finish applying):
 * nothing was changed; the message says what to do (or pass `force`).
 */
export class FailoverRefusedError extends MxoError {
  constructor(
    readonly shard: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('FAILOVER_REFUSED', `failover of ${shard} refused: ${message}`, options);
  }
}
