import { z } from 'zod';
import { amount, bigId, districtId, fromJson, id, idempotencyKey, jsonValue, position, timestamp } from '../shared/fields.js';
import type { Outcome } from './pvp-rating.js';
import type { PooledConnection } from '../../pool/pooled-connection.js';
import { consistencyOf } from '../../routing/consistency.js';
import { compareCharacterLocks } from '../../routing/lock-order.js';
import type { Consistency } from '../../routing/read-router.js';
import { remember, replayOf } from '../../routing/idempotency.js';
import { toStanding, updatePvp, type PvpStanding } from './pvp-stats.js';
import { parseInput, type Same } from '../../validate.js';
import type { RepoContext } from '../shared/context.js';
import { fencing, type WriteOptions } from '../shared/write-options.js';

const RESULTS = {
  win: 'victory',
  loss: 'defeat',
  victory: 'victory',
  defeat: 'defeat',
  draw: 'draw',
  fled: 'fled',
  interrupted: 'interrupted',
} as const;
/** Per participant (`{ [characterId]: n }`), or one number: the initiator's. */
const perParticipant = z.union([amount, z.record(z.string().regex(/^\d{1,10}$/), amount)]);

const recordInput = z
  .object({
    encounterType: z.enum(['pve', 'pvp', 'interlock', 'training']),
    initiatorId: id,
    targetId: id.optional(),
    targetType: z.enum(['player', 'npc']),
    districtId,
    position,
    startTime: timestamp.optional(),
    endTime: timestamp.optional(),
    /** From the initiator's side: `win`/`victory`, `loss`/`defeat`, `draw`, `fled`, `interrupted`. */
    result: z.enum(Object.keys(RESULTS) as [keyof typeof RESULTS, ...Array<keyof typeof RESULTS>]),
    winnerId: id.optional(),
    damageDealt: perParticipant.optional(),
    damageReceived: perParticipant.optional(),
    highestHit: perParticipant.optional(),
    abilitiesUsed: jsonValue.optional(),
    idempotencyKey,
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.targetType === 'player' && c.targetId === undefined)
      ctx.addIssue({ code: 'custom', path: ['targetId'], message: 'required for a player target' });
    if (c.targetType === 'player' && c.targetId === c.initiatorId)
      ctx.addIssue({ code: 'custom', path: ['targetId'], message: 'cannot fight oneself' });
    if ((c.encounterType === 'pvp' || c.encounterType === 'interlock') && c.targetType !== 'player')
      ctx.addIssue({ code: 'custom', path: ['targetType'], message: `${c.encounterType} needs a player target` });
    if (c.startTime && c.endTime && c.endTime < c.startTime)
      ctx.addIssue({ code: 'custom', path: ['endTime'], message: 'before startTime' });
    const result = RESULTS[c.result];
    const implied = result === 'victory' ? c.initiatorId : result === 'defeat' && c.targetType === 'player' ? c.targetId : undefined;
    if (c.winnerId !== undefined && c.winnerId !== implied)
      ctx.addIssue({ code: 'custom', path: ['winnerId'], message: `does not match result '${c.result}'` });
  });

/** What {@link Combat.record} takes. */
export interface CombatRecordInput {
  encounterType: 'pve' | 'pvp' | 'interlock' | 'training';
  initiatorId: number;
  targetId?: number;
  targetType: 'player' | 'npc';
  districtId: number;
  position: { x: number; y: number; z: number };
  startTime?: Date | string;
  endTime?: Date | string;
  result: keyof typeof RESULTS;
  winnerId?: number;
  damageDealt?: number | Record<string, number>;
  damageReceived?: number | Record<string, number>;
  highestHit?: number | Record<string, number>;
  abilitiesUsed?: Record<string, unknown> | unknown[];
  /** A retried call with the same key returns the first call's result and counts nothing twice. */
  idempotencyKey?: string;
}
// The interface and the schema agree both ways (compile-time only).
const agrees: Same<z.input<typeof recordInput>, CombatRecordInput> = true;
void agrees;

/** What {@link Combat.record} returns. */
export interface CombatRecordResult {
  encounterId: number;
  shard: string;
  /** The players' PvP standings after this encounter (empty unless PvP). */
  pvp: PvpStanding[];
}

/**
 * Combat encounters: the encounter row on the district's shard and, in the same transaction
 * (two-phase when the players live elsewhere), each player's `character_statistics` and, for
 * PvP, `pvp_statistics` with an Elo rating (src/systems/combat/pvp-rating.ts).
 */
export class Combat {
  constructor(private readonly ctx: RepoContext) {}

  /**
   * Records a finished encounter.
   * @example
   * await db.combat.record({ encounterType: 'pvp', initiatorId: a, targetId: b, targetType: 'player', districtId: 1,
   *   position: { x: 0, y: 0, z: 0 }, result: 'win', winnerId: a, damageDealt: 420, damageReceived: 180 });
   */
  async record(input: CombatRecordInput, options: WriteOptions = {}): Promise<CombatRecordResult> {
    const c = parseInput(recordInput, input, 'combat encounter');
    const router = this.ctx.router;
    const districtShard = router.topology.shardOfDistrict(c.districtId);
    const result = RESULTS[c.result];
    const players = c.targetType === 'player' ? [c.initiatorId, c.targetId!] : [c.initiatorId];
    const pvp = c.targetType === 'player' && c.encounterType !== 'training';
    const per = (v: number | Record<string, number> | undefined): Record<string, number> =>
      v === undefined ? {} : typeof v === 'number' ? { [c.initiatorId]: v } : v;
    const dealt = per(c.damageDealt);
    const received = per(c.damageReceived);
    const hits = per(c.highestHit);
    if (pvp) {
      // Two players: what one dealt the other received, unless told otherwise.
      const [a, b] = players as [number, number];
      dealt[b] ??= received[a] ?? 0;
      received[b] ??= dealt[a] ?? 0;
    }
    const winner = result === 'victory' ? c.initiatorId : result === 'defeat' && pvp ? c.targetId : undefined;
    const { value } = await router.onCharacters(
      'combat_record',
      players,
      async (tx, routes) => {
        const ordered = routes
          .map((r, i) => ({ cid: players[i]!, shard: r.shard }))
          .sort((x, y) => compareCharacterLocks({ shard: x.shard, characterId: x.cid }, { shard: y.shard, characterId: y.cid }));
        // The key lives with the initiator (src/routing/idempotency.ts), in this same transaction.
        const { idempotencyKey, ...request } = c;
        const keyConn = await tx.branch(routes[0]!.shard);
        const call =
          idempotencyKey === undefined
            ? undefined
            : { key: idempotencyKey, characterId: c.initiatorId, operation: 'combat_record', request };
        const earlier = call && (await replayOf<CombatRecordResult>(keyConn, call));
        if (earlier) return earlier;
        const standings: PvpStanding[] = [];
        if (pvp) {
          const conns = new Map<number, PooledConnection>();
          const before = new Map<number, number>();
          for (const p of ordered) {
            const conn = await tx.branch(p.shard);
            conns.set(p.cid, conn);
            const [row] = await conn.rows<{ pvp_rating: number }>(
              'SELECT pvp_rating FROM pvp_statistics WHERE character_id = ? FOR UPDATE',
              [p.cid],
            );
            if (!row) await conn.exec('INSERT INTO pvp_statistics (character_id) VALUES (?)', [p.cid]);
            before.set(p.cid, Number(row?.pvp_rating ?? 1000));
          }
          for (const p of ordered) {
            const other = players.find((x) => x !== p.cid)!;
            const outcome: Outcome | undefined =
              winner === undefined ? (result === 'draw' ? 'draw' : undefined) : winner === p.cid ? 'win' : 'loss';
            standings.push(
              await updatePvp(
                conns.get(p.cid)!,
                p.cid,
                outcome,
                before.get(p.cid)!,
                before.get(other)!,
                c.encounterType === 'interlock',
                dealt[p.cid] ?? 0,
                received[p.cid] ?? 0,
                hits[p.cid] ?? 0,
              ),
            );
          }
        }
        // Kills and deaths: a PvP winner kills the loser; a PvE victory is an NPC kill, a defeat a death.
        for (const p of ordered) {
          if (c.encounterType === 'training') break;
          const kill = winner === p.cid;
          const death = pvp ? winner !== undefined && winner !== p.cid : result === 'defeat';
          if (!kill && !death) continue;
          await (
            await tx.branch(p.shard)
          ).exec(
            `UPDATE character_statistics SET total_kills = total_kills + ?, player_kills = player_kills + ?, npc_kills = npc_kills + ?,
               total_deaths = total_deaths + ? WHERE character_id = ?`,
            [kill ? 1 : 0, kill && pvp ? 1 : 0, kill && !pvp ? 1 : 0, death ? 1 : 0, p.cid],
          );
        }
        const start = c.startTime ?? new Date();
        const header = await (
          await tx.branch(districtShard)
        ).exec(
          `INSERT INTO combat_encounters (encounter_type, initiator_id, target_id, target_type, district_id, position_x, position_y, position_z,
             start_time, end_time, duration, encounter_result, winner_id, total_damage_dealt, total_damage_received, abilities_used)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [
            c.encounterType,
            c.initiatorId,
            c.targetId ?? null,
            c.targetType,
            c.districtId,
            c.position.x,
            c.position.y,
            c.position.z,
            start,
            c.endTime ?? null,
            c.endTime ? Math.round((c.endTime.getTime() - start.getTime()) / 1000) : null,
            result,
            winner ?? null,
            JSON.stringify(dealt),
            JSON.stringify(received),
            c.abilitiesUsed ? JSON.stringify(c.abilitiesUsed) : null,
          ],
        );
        const recorded = { encounterId: Number(header.insertId), shard: districtShard, pvp: standings };
        if (call) await remember(keyConn, call, recorded);
        return recorded;
      },
      { ...fencing(options), also: [districtShard] },
    );
    return value;
  }

  /**
   * A player's PvP statistics (replica-eligible; `session` by default).
   * @example
   * const { pvpRating, currentWinStreak } = await db.combat.pvpStats(characterId);
   */
  async pvpStats(characterId: number, options: { consistency?: Consistency } = {}): Promise<PvpStanding> {
    const cid = parseInput(id, characterId, 'character id');
    return this.ctx.router.readCharacter('pvp_stats', cid, consistencyOf(options, 'session'), async (conn) => {
      const [row] = await conn.rows<Record<string, unknown>>(
        `SELECT c.character_id, p.* FROM characters c LEFT JOIN pvp_statistics p ON p.character_id = c.character_id WHERE c.character_id = ?`,
        [cid],
      );
      if (!row) return undefined;
      return toStanding({ ...row, character_id: cid });
    });
  }

  /**
   * Combat encounters a character took part in, from every shard (newest first).
   * @example
   * const fights = await db.combat.history(characterId, { limit: 20 });
   */
  async history(characterId: number, options: { limit?: number; consistency?: Consistency } = {}): Promise<Array<Record<string, unknown>>> {
    const cid = parseInput(bigId, characterId, 'character id');
    const limit = parseInput(z.number().int().min(1).max(1000).default(50), options.limit, 'limit');
    const rows = await this.ctx.router.readEveryShard('combat_history', consistencyOf(options, 'session'), (conn, shard) =>
      conn
        .rows<Record<string, unknown>>(
          `SELECT * FROM combat_encounters WHERE initiator_id = ? OR (target_id = ? AND target_type = 'player')
            ORDER BY start_time DESC, encounter_id DESC LIMIT ${limit}`,
          [cid, cid],
        )
        .then((list) =>
          list.map((r) => ({
            shard,
            encounterId: Number(r.encounter_id),
            encounterType: r.encounter_type,
            initiatorId: Number(r.initiator_id),
            targetId: r.target_id === null ? null : Number(r.target_id),
            districtId: Number(r.district_id),
            result: r.encounter_result,
            winnerId: r.winner_id === null ? null : Number(r.winner_id),
            damageDealt: fromJson(r.total_damage_dealt, {}),
            damageReceived: fromJson(r.total_damage_received, {}),
            startTime: r.start_time as Date,
          })),
        ),
    );
    return rows
      .flat()
      .sort((a, b) => (b.startTime as Date).getTime() - (a.startTime as Date).getTime())
      .slice(0, limit);
  }
}

export type { PvpStanding };
