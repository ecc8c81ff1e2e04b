import { randomBytes } from 'node:crypto';

/**
 * XA transaction ids. MariaDB cannot bind an XID as a parameter, so ids are sent as hex
 * literals built here from text the library generated (never from user input).
 *
 * gtrid = `mxo:<decision node>:<start ms>:<random>`: it says where the decision record lives
 * and how old the transaction is, so recovery needs nothing else to resolve a branch.
 * bqual  = `<branch node>:<server thread id>`: the thread id lets recovery end a stale session
 * that still owns the branch (MariaDB answers 1397 until that session is gone).
 */
export const XID_FORMAT_ID = 0x4d584f; // "MXO"

export interface Gtrid {
  gtrid: string;
  decisionKey: string;
  startedAt: number;
}

export function newGtrid(decisionKey: string, now = Date.now()): string {
  return `mxo:${decisionKey}:${now}:${randomBytes(6).toString('hex')}`;
}

export function parseGtrid(gtrid: string): Gtrid | undefined {
  const match = /^mxo:([a-z][a-z0-9_]*):(\d+):[0-9a-f]+$/.exec(gtrid);
  if (!match) return undefined;
  return { gtrid, decisionKey: match[1]!, startedAt: Number(match[2]) };
}

export function branchQualifier(branchKey: string, threadId: number): string {
  return `${branchKey}:${threadId}`;
}

export function parseBranchQualifier(bqual: string): { branchKey: string; threadId: number } | undefined {
  const match = /^([a-z][a-z0-9_]*):(\d+)$/.exec(bqual);
  return match ? { branchKey: match[1]!, threadId: Number(match[2]) } : undefined;
}

/** `X'..',X'..',<format>` ready to follow `XA START` / `XA COMMIT` / ... */
export function xidLiteral(gtrid: string, bqual: string): string {
  const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex');
  return `X'${hex(gtrid)}',X'${hex(bqual)}',${XID_FORMAT_ID}`;
}

/** One row of `XA RECOVER`. */
export interface XaRecoverRow {
  formatID: number | string;
  gtrid_length: number | string;
  bqual_length: number | string;
  data: string | Buffer;
}

/** Splits an `XA RECOVER` row into gtrid and bqual; undefined for other applications' XIDs. */
export function parseRecoverRow(row: XaRecoverRow): { gtrid: string; bqual: string } | undefined {
  if (Number(row.formatID) !== XID_FORMAT_ID) return undefined;
  const data = Buffer.isBuffer(row.data) ? row.data : Buffer.from(row.data, 'latin1');
  const g = Number(row.gtrid_length);
  const b = Number(row.bqual_length);
  return { gtrid: data.subarray(0, g).toString('utf8'), bqual: data.subarray(g, g + b).toString('utf8') };
}
