import { z } from 'zod';
import { ForbiddenError, InvalidStateError, NotFoundError, ValidationError } from '../../errors.js';
import type { PooledConnection } from '../../pool/pooled-connection.js';
import { consistencyOf } from '../../routing/consistency.js';
import type { Consistency } from '../../routing/read-router.js';
import { endAccountPresence, isMuted, syncAccountStatus } from '../shared/account-access.js';
import { textColumn, id } from '../shared/fields.js';
import { parseInput, type Same } from '../../validate.js';
import type { RepoContext } from '../shared/context.js';

/** TIMESTAMP columns end in 2038. */
const timestamp = z
  .date()
  .refine((d) => !Number.isNaN(d.getTime()) && d.getTime() < Date.UTC(2038, 0, 1), { message: 'must be a valid date before 2038' });
const punishInput = z
  .object({
    accountId: id,
    type: z.enum(['warning', 'mute', 'suspension', 'ban']),
    reason: textColumn(1),
    issuedBy: id,
    /** Omitted: until lifted. */
    expiresAt: timestamp.optional(),
    notes: textColumn().optional(),
  })
  .strict();
const flagAction = z.enum(['none', 'warned', 'edited', 'deleted']);

export type PunishmentType = 'warning' | 'mute' | 'suspension' | 'ban';

export interface PunishInput {
  accountId: number;
  type: PunishmentType;
  reason: string;
  /** The moderator's account (admin_level >= 1). */
  issuedBy: number;
  expiresAt?: Date;
  notes?: string;
}
// The interface and the schema agree both ways (compile-time only).
const agrees: Same<z.input<typeof punishInput>, PunishInput> = true;
void agrees;

export interface Punishment {
  punishmentId: number;
  accountId: number;
  type: PunishmentType;
  reason: string;
  issuedBy: number;
  issuedAt: Date;
  expiresAt: Date | null;
  isActive: boolean;
  appealStatus: string;
  notes: string | null;
}

/**
 * Punishments (global `account_punishments`) and chat moderation. A ban or suspension sets the
 * account's status and ends its sessions, its characters' live presence claims and handoff tickets
 * in the same transaction; login, verifySession, presence claims and handoffs
 * refuse it; expiry is read by the database's clock, so nothing has to run when it ends. A mute
 * makes `logs.chat` refuse with MutedError. Moderators are accounts with admin_level >= 1.
 */
export class Moderation {
  constructor(private readonly ctx: RepoContext) {}

  /**
   * Issues a punishment.
   * @example const { punishmentId } = await db.moderation.punish({ accountId, type: 'ban', reason: 'botting', issuedBy: modAccountId });
   */
  async punish(input: PunishInput): Promise<{ punishmentId: number; sessionsEnded: number }> {
    const d = parseInput(punishInput, input, 'punishment');
    return this.ctx.router.onGlobal('moderation_punish', async (conn) => {
      await requireModerator(conn, d.issuedBy);
      const [account] = await conn.rows('SELECT account_id FROM accounts WHERE account_id = ? FOR UPDATE', [d.accountId]);
      if (!account) throw new NotFoundError('account', d.accountId);
      if (d.expiresAt) {
        const [future] = await conn.rows<{ ok: number }>('SELECT ? > NOW() AS ok', [d.expiresAt]);
        if (!Number(future?.ok)) throw new ValidationError('punishment', [{ field: 'expiresAt', message: 'must be in the future' }]);
      }
      const header = await conn.exec(
        `INSERT INTO account_punishments (account_id, punishment_type, reason, issued_by, expires_date, notes)
           VALUES (?, ?, ?, ?, ?, ?)`,
        [d.accountId, d.type, d.reason, d.issuedBy, d.expiresAt ?? null, d.notes ?? null],
      );
      let sessionsEnded = 0;
      if (d.type === 'ban' || d.type === 'suspension') {
        await syncAccountStatus(conn, d.accountId);
        sessionsEnded = (await conn.exec('DELETE FROM account_sessions WHERE account_id = ?', [d.accountId])).affectedRows;
        await endAccountPresence(conn, d.accountId); // and its characters leave the world
      }
      return { punishmentId: Number(header.insertId), sessionsEnded };
    });
  }

  /**
   * Ends a punishment now; the account's status follows what is still in force. `moderatorId`,
   * the acting moderator's account, must have admin_level >= 1 (checked in the same transaction;
   * ForbiddenError otherwise, nothing changed). Without it the calling server itself decides
   * (operator tooling); deprecated for a player's action, which must name its moderator.
   * @example await db.moderation.lift(punishmentId, modAccountId);
   */
  async lift(punishmentId: number, moderatorId?: number): Promise<void> {
    const pid = parseInput(id, punishmentId, 'punishment id');
    const mod = moderatorId === undefined ? undefined : parseInput(id, moderatorId, 'moderator id');
    await this.ctx.router.onGlobal('moderation_lift', async (conn) => {
      if (mod !== undefined) await requireModerator(conn, mod);
      const row = await lockPunishment(conn, pid);
      await conn.exec('UPDATE account_punishments SET is_active = FALSE WHERE punishment_id = ?', [pid]);
      await syncAccountStatus(conn, Number(row.account_id));
    });
  }

  /**
   * The punished player appeals (once); a moderator decides with {@link decideAppeal}. With
   * `accountId` (the appealing player's account) the punishment must be that account's
   * (ForbiddenError otherwise).
   * @example await db.moderation.appeal(punishmentId, 'I was not botting', accountId);
   */
  async appeal(punishmentId: number, text: string, accountId?: number): Promise<void> {
    const pid = parseInput(id, punishmentId, 'punishment id');
    const body = parseInput(textColumn(1), text, 'appeal text');
    const appellant = accountId === undefined ? undefined : parseInput(id, accountId, 'account id');
    await this.ctx.router.onGlobal('moderation_appeal', async (conn) => {
      const row = await lockPunishment(conn, pid);
      if (appellant !== undefined && Number(row.account_id) !== appellant)
        throw new ForbiddenError('moderation appeal', `punishment ${pid} is not account ${appellant}'s`);
      if (row.appeal_status !== 'none') throw new InvalidStateError('punishment', pid, `appeal ${row.appeal_status}`);
      const notes = `${row.notes ? `${row.notes}\n` : ''}appeal: ${body}`;
      if (Buffer.byteLength(notes) > 65_535)
        throw new ValidationError('appeal text', [{ field: '', message: 'too long with the existing notes' }]);
      await conn.exec("UPDATE account_punishments SET appeal_status = 'pending', notes = ? WHERE punishment_id = ?", [notes, pid]);
    });
  }

  /**
   * A moderator approves (the punishment is lifted) or denies a pending appeal.
   * @example await db.moderation.decideAppeal(punishmentId, true, modAccountId);
   */
  async decideAppeal(punishmentId: number, approved: boolean, moderatorId: number): Promise<void> {
    const pid = parseInput(id, punishmentId, 'punishment id');
    const ok = parseInput(z.boolean(), approved, 'approved');
    const mod = parseInput(id, moderatorId, 'moderator id');
    await this.ctx.router.onGlobal('moderation_decide_appeal', async (conn) => {
      await requireModerator(conn, mod);
      const row = await lockPunishment(conn, pid);
      if (row.appeal_status !== 'pending') throw new InvalidStateError('punishment', pid, `appeal ${row.appeal_status}`);
      await conn.exec(`UPDATE account_punishments SET appeal_status = ?, is_active = IF(?, FALSE, is_active) WHERE punishment_id = ?`, [
        ok ? 'approved' : 'denied',
        ok,
        pid,
      ]);
      await syncAccountStatus(conn, Number(row.account_id));
    });
  }

  /** An account's punishments, newest first (`activeOnly`: in force now). @example await db.moderation.list(accountId, { activeOnly: true }); */
  async list(accountId: number, options: { activeOnly?: boolean; consistency?: Consistency } = {}): Promise<Punishment[]> {
    const account = parseInput(id, accountId, 'account id');
    const active = options.activeOnly ? ' AND is_active = TRUE AND (expires_date IS NULL OR expires_date > NOW())' : '';
    const rows = await this.ctx.router.readGlobal('moderation_list', consistencyOf(options, 'session'), (conn) =>
      conn.rows<Record<string, unknown>>(`SELECT * FROM account_punishments WHERE account_id = ?${active} ORDER BY punishment_id DESC`, [
        account,
      ]),
    );
    return rows.map((r) => ({
      punishmentId: Number(r.punishment_id),
      accountId: Number(r.account_id),
      type: r.punishment_type as PunishmentType,
      reason: String(r.reason),
      issuedBy: Number(r.issued_by),
      issuedAt: r.issued_date as Date,
      expiresAt: (r.expires_date as Date | null) ?? null,
      isActive: Boolean(r.is_active),
      appealStatus: String(r.appeal_status),
      notes: (r.notes as string | null) ?? null,
    }));
  }

  /** Whether an account is muted now, and until when (null: until lifted). @example const { muted } = await db.moderation.muteStatus(accountId); */
  async muteStatus(accountId: number): Promise<{ muted: boolean; until: Date | null }> {
    const account = parseInput(id, accountId, 'account id');
    const until = await this.ctx.router.readGlobal('moderation_mute', 'session', (conn) => isMuted(conn, account));
    return { muted: until !== false, until: until === false ? null : until };
  }

  /**
   * Flags a chat line with a moderation action. Chat ids are per shard: pass `shard` (from
   * `logs.chatHistory`) when the id exists on several.
   * @example await db.moderation.flagChat(messageId, 'warned', modAccountId, { shard: 'alpha' });
   */
  async flagChat(
    messageId: number,
    action: 'none' | 'warned' | 'edited' | 'deleted',
    moderatorId: number,
    options: { shard?: string } = {},
  ): Promise<{ shard: string }> {
    const mid = parseInput(id, messageId, 'message id');
    const act = parseInput(flagAction, action, 'action');
    const mod = parseInput(id, moderatorId, 'moderator id');
    const shards = this.ctx.router.topology.shards.map((s) => s.key);
    const only = parseInput(z.enum(shards as [string, ...string[]]).optional(), options.shard, 'shard');
    await this.ctx.router.readGlobal('moderation_moderator', 'strong', (conn) => requireModerator(conn, mod));
    const found = (
      await this.ctx.router.readEveryShard('chat_locate', 'strong', async (conn, shard) =>
        (only === undefined || only === shard) &&
        (await conn.rows('SELECT 1 FROM chat_logs WHERE message_id = ? LIMIT 1', [mid])).length > 0
          ? shard
          : undefined,
      )
    ).filter((s): s is string => s !== undefined);
    if (found.length === 0) throw new NotFoundError('chat message', mid);
    if (found.length > 1)
      throw new ValidationError('flagChat', [{ field: 'shard', message: `message ${mid} exists on ${found.join(', ')}; name the shard` }]);
    const shard = found[0]!;
    await this.ctx.router.onShard('moderation_flag_chat', shard, (conn) =>
      conn.exec('UPDATE chat_logs SET is_flagged = TRUE, moderation_action = ?, moderated_by = ? WHERE message_id = ?', [act, mod, mid]),
    );
    return { shard };
  }
}

/** The moderator's account, share-locked so its admin_level cannot drop before this commits. */
async function requireModerator(conn: PooledConnection, accountId: number): Promise<void> {
  const [row] = await conn.rows<{ admin_level: number }>('SELECT admin_level FROM accounts WHERE account_id = ? LOCK IN SHARE MODE', [
    accountId,
  ]);
  if (!row) throw new NotFoundError('account', accountId);
  if (Number(row.admin_level) < 1) throw new ForbiddenError('moderation', `account ${accountId} is not a moderator`);
}

async function lockPunishment(
  conn: PooledConnection,
  pid: number,
): Promise<{ account_id: number; appeal_status: string; notes: string | null }> {
  const [row] = await conn.rows<{ account_id: number; appeal_status: string; notes: string | null }>(
    'SELECT account_id, appeal_status, notes FROM account_punishments WHERE punishment_id = ? FOR UPDATE',
    [pid],
  );
  if (!row) throw new NotFoundError('punishment', pid);
  return row;
}
