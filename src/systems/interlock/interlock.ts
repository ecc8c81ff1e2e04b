import { z } from 'zod';
import { InvalidStateError, NotFoundError, WrongDistrictError } from '../../errors.js';
import { bigId, districtId, fromJson, id, jsonValue, position } from '../shared/fields.js';
import { consistencyOf } from '../../routing/consistency.js';
import { compareCharacterLocks } from '../../routing/lock-order.js';
import type { Consistency } from '../../routing/read-router.js';
import { shardOfWorldRow } from '../shared/world-rows.js';
import { parseInput } from '../../validate.js';
import type { RepoContext } from '../shared/context.js';
import { unfenced } from '../shared/write-options.js';

const TYPES = { duel: 'one_v_one', one_v_one: 'one_v_one', small_group: 'small_group', large_group: 'large_group' } as const;
const startInput = z
  .object({
    participants: z
      .array(id)
      .min(2)
      .max(8)
      .refine((p) => new Set(p).size === p.length, 'participants must not repeat'),
    districtId,
    /** `duel` is `one_v_one`; default from the number of participants (2, 3-4, 5-8). */
    interlockType: z.enum(Object.keys(TYPES) as [keyof typeof TYPES, ...Array<keyof typeof TYPES>]).optional(),
    maxRounds: z.number().int().min(1).max(1000).default(10),
    centerPosition: position.default({ x: 0, y: 0, z: 0 }),
  })
  .strict();
const roundInput = z.object({ roundNumber: z.number().int().min(1).max(1000), actions: jsonValue, results: jsonValue }).strict();
const finishInput = z
  .object({ winnerId: id.optional(), eliminationOrder: z.array(id).max(8).default([]) })
  .strict()
  .refine((f) => f.winnerId === undefined || !f.eliminationOrder.includes(f.winnerId), {
    path: ['eliminationOrder'],
    message: 'the winner was not eliminated',
  });

/** What {@link Interlock.start} takes. */
export interface InterlockStartInput {
  participants: number[];
  districtId: number;
  interlockType?: keyof typeof TYPES;
  maxRounds?: number;
  centerPosition?: { x: number; y: number; z: number };
}
/** One round of an interlock. */
export interface InterlockRoundInput {
  roundNumber: number;
  actions: Record<string, unknown> | unknown[];
  results: Record<string, unknown> | unknown[];
}
/** How an interlock ended; without a winner it is recorded as interrupted. */
export interface InterlockFinishInput {
  winnerId?: number;
  eliminationOrder?: number[];
}
/** An interlock with its rounds. */
export interface InterlockResult {
  interlockId: number;
  districtId: number;
  participants: number[];
  interlockType: string;
  status: string;
  currentRound: number;
  maxRounds: number;
  winnerId: number | null;
  eliminationOrder: number[];
  rounds: Array<{ roundNumber: number; actions: unknown; results: unknown }>;
}

/**
 * Interlock (the turn-based close combat): the encounter and its rounds live on the district's
 * shard; `finish` updates every participant's PvP and character statistics exactly once, in the
 * same transaction (two-phase when participants live on other shards).
 */
export class Interlock {
  constructor(private readonly ctx: RepoContext) {}

  /**
   * Starts an interlock between characters standing in `districtId`.
   * @example
   * const { interlockId } = await db.interlock.start({ participants: [a, b], districtId: 1, interlockType: 'duel', maxRounds: 5 });
   */
  async start(input: InterlockStartInput): Promise<{ interlockId: number }> {
    const s = parseInput(startInput, input, 'interlock');
    const router = this.ctx.router;
    const shard = router.topology.shardOfDistrict(s.districtId);
    const n = s.participants.length;
    const type = s.interlockType ? TYPES[s.interlockType] : n === 2 ? 'one_v_one' : n <= 4 ? 'small_group' : 'large_group';
    const interlockId = await this.ctx.ids.next('world_id');
    await router.onCharacters(
      'interlock_start',
      s.participants,
      async (tx, _routes, locked) => {
        for (const cid of s.participants) {
          const row = await locked.of(cid);
          if (Number(row.district_id) !== s.districtId) throw new WrongDistrictError(cid, s.districtId, Number(row.district_id));
        }
        await (
          await tx.branch(shard)
        ).exec(
          `INSERT INTO interlock_encounters (interlock_id, participants, participant_count, interlock_type, district_id, center_position,
             current_round, max_rounds, interlock_status) VALUES (?, ?, ?, ?, ?, ?, 0, ?, 'active')`,
          [interlockId, JSON.stringify(s.participants), n, type, s.districtId, JSON.stringify(s.centerPosition), s.maxRounds],
        );
      },
      { ...unfenced('an encounter of several characters, recorded by the district server'), also: [shard] },
    );
    return { interlockId };
  }

  /**
   * Records the next round (round numbers run 1, 2, ... up to `maxRounds`).
   * @example
   * await db.interlock.round(interlockId, { roundNumber: 1, actions: [{ by: a, move: 'kick' }], results: { [b]: -40 } });
   */
  async round(interlockId: number, input: InterlockRoundInput): Promise<{ roundNumber: number }> {
    const iid = parseInput(bigId, interlockId, 'interlock id');
    const r = parseInput(roundInput, input, 'interlock round');
    const shard = await shardOfWorldRow(this.ctx.router, 'interlock_encounters', iid);
    return this.ctx.router.onShard('interlock_round', shard, async (conn) => {
      const [row] = await conn.rows<Record<string, unknown>>(
        'SELECT interlock_status, current_round, max_rounds FROM interlock_encounters WHERE interlock_id = ? FOR UPDATE',
        [iid],
      );
      if (!row) throw new NotFoundError('interlock', iid);
      if (row.interlock_status !== 'active' && row.interlock_status !== 'starting')
        throw new InvalidStateError('interlock', iid, String(row.interlock_status));
      const expected = Number(row.current_round) + 1;
      if (r.roundNumber !== expected)
        throw new InvalidStateError('interlock', iid, 'active', `interlock ${iid} expects round ${expected}, got ${r.roundNumber}`);
      if (r.roundNumber > Number(row.max_rounds))
        throw new InvalidStateError('interlock', iid, 'active', `interlock ${iid} has at most ${String(row.max_rounds)} rounds`);
      await conn.exec(
        'INSERT INTO interlock_rounds (interlock_id, round_number, actions_taken, round_results, round_end) VALUES (?, ?, ?, ?, NOW())',
        [iid, r.roundNumber, JSON.stringify(r.actions), JSON.stringify(r.results)],
      );
      await conn.exec('UPDATE interlock_encounters SET current_round = ? WHERE interlock_id = ?', [r.roundNumber, iid]);
      return { roundNumber: r.roundNumber };
    });
  }

  /**
   * Ends an interlock: winner, elimination order, and every participant's statistics once.
   * @example
   * await db.interlock.finish(interlockId, { winnerId: a, eliminationOrder: [b] });
   */
  async finish(interlockId: number, input: InterlockFinishInput): Promise<InterlockResult> {
    const iid = parseInput(bigId, interlockId, 'interlock id');
    const f = parseInput(finishInput, input, 'interlock finish');
    const router = this.ctx.router;
    const shard = await shardOfWorldRow(router, 'interlock_encounters', iid);
    const [encounter] = await router.readShard('interlock_get', shard, 'strong', (conn) =>
      conn.rows<{ participants: unknown }>('SELECT participants FROM interlock_encounters WHERE interlock_id = ?', [iid]),
    );
    const participants = fromJson<number[]>(encounter!.participants, []);
    for (const [i, cid] of [...(f.winnerId ? [f.winnerId] : []), ...f.eliminationOrder].entries()) {
      if (!participants.includes(cid))
        throw new InvalidStateError(
          'interlock',
          iid,
          'active',
          `character ${cid} (${i === 0 && f.winnerId ? 'winnerId' : 'eliminationOrder'}) is not a participant`,
        );
    }
    await router.onCharacters(
      'interlock_finish',
      participants,
      async (tx, routes) => {
        // The encounter row (after the characters' rows, which the router locked): the fence that makes statistics change once.
        const enc = await tx.branch(shard);
        const [row] = await enc.rows<{ interlock_status: string }>(
          'SELECT interlock_status FROM interlock_encounters WHERE interlock_id = ? FOR UPDATE',
          [iid],
        );
        if (row!.interlock_status === 'completed' || row!.interlock_status === 'interrupted')
          throw new InvalidStateError('interlock', iid, row!.interlock_status);
        const ordered = routes
          .map((r, i) => ({ cid: participants[i]!, shard: r.shard }))
          .sort((x, y) => compareCharacterLocks({ shard: x.shard, characterId: x.cid }, { shard: y.shard, characterId: y.cid }));
        for (const p of ordered) {
          const conn = await tx.branch(p.shard);
          const win = f.winnerId === p.cid ? 1 : 0;
          const loss = f.winnerId !== undefined && !win ? 1 : 0;
          await conn.exec('INSERT IGNORE INTO pvp_statistics (character_id) VALUES (?)', [p.cid]);
          await conn.exec(
            'UPDATE pvp_statistics SET interlock_encounters = interlock_encounters + 1, interlock_wins = interlock_wins + ?, interlock_losses = interlock_losses + ? WHERE character_id = ?',
            [win, loss, p.cid],
          );
          await conn.exec(
            'UPDATE character_statistics SET interlock_wins = interlock_wins + ?, interlock_losses = interlock_losses + ? WHERE character_id = ?',
            [win, loss, p.cid],
          );
        }
        await enc.exec(
          'UPDATE interlock_encounters SET interlock_status = ?, end_time = NOW(), winner_id = ?, elimination_order = ? WHERE interlock_id = ?',
          [f.winnerId === undefined ? 'interrupted' : 'completed', f.winnerId ?? null, JSON.stringify(f.eliminationOrder), iid],
        );
      },
      { ...unfenced('an encounter of several characters, recorded by the district server'), also: [shard] },
    );
    return this.get(iid, { consistency: 'session' });
  }

  /**
   * An interlock with its rounds.
   * @example
   * const { status, rounds } = await db.interlock.get(interlockId);
   */
  async get(interlockId: number, options: { consistency?: Consistency } = {}): Promise<InterlockResult> {
    const iid = parseInput(bigId, interlockId, 'interlock id');
    const shard = await shardOfWorldRow(this.ctx.router, 'interlock_encounters', iid);
    return this.ctx.router.readShard('interlock_get', shard, consistencyOf(options, 'session'), async (conn) => {
      const [r] = await conn.rows<Record<string, unknown>>('SELECT * FROM interlock_encounters WHERE interlock_id = ?', [iid]);
      if (!r) throw new NotFoundError('interlock', iid);
      const rounds = await conn.rows<Record<string, unknown>>(
        'SELECT round_number, actions_taken, round_results FROM interlock_rounds WHERE interlock_id = ? ORDER BY round_number',
        [iid],
      );
      return {
        interlockId: iid,
        districtId: Number(r.district_id),
        participants: fromJson<number[]>(r.participants, []),
        interlockType: String(r.interlock_type),
        status: String(r.interlock_status),
        currentRound: Number(r.current_round),
        maxRounds: Number(r.max_rounds),
        winnerId: r.winner_id === null ? null : Number(r.winner_id),
        eliminationOrder: fromJson<number[]>(r.elimination_order, []),
        rounds: rounds.map((x) => ({
          roundNumber: Number(x.round_number),
          actions: fromJson(x.actions_taken, null),
          results: fromJson(x.round_results, null),
        })),
      };
    });
  }
}
