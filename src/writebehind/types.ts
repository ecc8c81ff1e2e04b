import { MxoError } from '../errors.js';

export interface WriteBehindOptions {
  /** Flush period. */
  flushIntervalMs: number;
  /** Entries (positions + log rows) a shard's buffer holds before writers must wait. */
  maxQueue: number;
  /** Rows per multi-row statement. */
  maxBatch: number;
  /** How long a writer waits for room before {@link WriteBehindFullError}. */
  backpressureTimeoutMs: number;
}

export interface Position {
  x: number;
  y: number;
  z: number;
  rotation?: { x: number; y: number; z: number; w: number };
}

/** A buffered position with its place in the process's order ({@link PositionOrder}): what moves between buffers. */
export interface BufferedPosition {
  position: Position;
  seq: number;
}

/**
 * Re-routes positions whose character's row was not on the shard at the flush (it moved): each
 * goes to the buffer of the shard the character lives on now; returns those it could not place
 * (to try again at the next flush).
 */
export type PositionReroute = (from: string, gone: Map<number, BufferedPosition>) => Promise<Map<number, BufferedPosition>>;

/** A log row: the table (one of the three log tables) and its column values. */
export interface LogRow {
  table: 'player_action_logs' | 'chat_logs' | 'system_logs';
  values: Record<string, unknown>;
}

/** The buffer stayed full past the back-pressure timeout (its shard is slow or down). */
export class WriteBehindFullError extends MxoError {
  constructor(
    readonly shard: string,
    readonly depth: number,
  ) {
    super('WRITE_BEHIND_FULL', `write-behind buffer of shard ${shard} is full (${depth} entries)`);
  }
}

/** Rows of a flush were left buffered because the shard kept them locked past the flush's short lock wait. */
export class WriteBehindDeferredError extends MxoError {
  constructor(
    readonly shard: string,
    readonly deferred: number,
    options?: { cause?: unknown },
  ) {
    super(
      'WRITE_BEHIND_DEFERRED',
      `write-behind flush of shard ${shard} left ${deferred} locked row(s) buffered for the next flush`,
      options,
    );
  }
}
