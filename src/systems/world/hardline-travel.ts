import { ForbiddenError, InsufficientFundsError, InvalidStateError, NotFoundError, WrongDistrictError } from '../../errors.js';
import { z } from 'zod';
import { fencingToken, fromJson, varchar } from '../shared/fields.js';
import type { Same } from '../../validate.js';
import type { PooledConnection } from '../../pool/pooled-connection.js';
import type { Router } from '../../routing/router.js';
import type { WriteBehindBuffer } from '../../writebehind/write-behind-buffer.js';
import { moveCharacter, type MoveResult } from '../shared/character-move.js';
import { requireToken } from '../shared/fenced-write.js';
import { checkRequirements } from '../shared/vendor-rules.js';
import { shardOfWorldRow } from '../shared/world-rows.js';

/** A hardline as the client names it: its district and its number there. */
export interface HardlinePlace {
  districtId: number;
  hardlineNumber: number;
}

/** The options of a hardline trip (world.useHardline, world.travel). */
export interface TravelOptions {
  /** A private hardline's access code. */
  accessCode?: string;
  /** The caller's presence claim token: the trip is refused (PresenceLostError) once the claim no longer holds. */
  fencingToken?: number;
}

/** @internal */
export const travelOptions = z.object({ accessCode: varchar(16).optional(), fencingToken }).strict();
const agrees: Same<z.input<typeof travelOptions>, TravelOptions> = true;
void agrees;

/** What a hardline trip asks beyond the two hardline ids. */
export interface TravelRules {
  accessCode?: string;
  /** The caller's presence claim token: the trip is refused (PresenceLostError) once the claim no longer holds. */
  fencingToken?: number;
  /** The client's trip: the destination must be in the character's known set, the source becomes known. */
  known?: { from: HardlinePlace; to: HardlinePlace };
}

export interface HardlineRow {
  hardline_id: number;
  hardline_number: number | null;
  hardline_type: string;
  access_code: string | null;
  district_id: number;
  is_active: number;
  level_requirement: number | null;
  faction_requirement: string | null;
  connection_cost: number | null;
  connected_hardlines: unknown;
}

/**
 * Travels from a hardline in the character's district to a connected one (world.useHardline and
 * world.travel): level and faction checks (both ends), a private hardline's access code, the fare
 * charged with a ledger row, the usage counted, and the character moved to the target district,
 * across shards when it must, all in one transaction.
 */
export async function travelByHardline(
  router: Router,
  writeBehind: (shard: string) => WriteBehindBuffer,
  cid: number,
  fromId: number,
  toId: number,
  rules: TravelRules = {},
): Promise<MoveResult & { cost: number }> {
  requireToken(router, rules.fencingToken); // before any SQL; the token itself is checked under the row lock
  const [fromShard, toShard] = await Promise.all([
    shardOfWorldRow(router, 'hardlines', fromId),
    shardOfWorldRow(router, 'hardlines', toId),
  ]);
  const [from] = await router.readShard('hardline_get', fromShard, 'strong', (c) =>
    c.rows<HardlineRow>('SELECT * FROM hardlines WHERE hardline_id = ?', [fromId]),
  );
  const [to] = await router.readShard('hardline_get', toShard, 'strong', (c) =>
    c.rows<HardlineRow>('SELECT * FROM hardlines WHERE hardline_id = ?', [toId]),
  );
  const connected = fromJson<number[] | null>(from!.connected_hardlines, null);
  if (connected && !connected.map(Number).includes(toId))
    throw new InvalidStateError('hardline', fromId, 'not connected', `hardline ${fromId} does not connect to ${toId}`);
  let cost = 0;
  const moved = await moveCharacter(
    router,
    writeBehind,
    cid,
    Number(to!.district_id),
    async ({ source, target, locked }) => {
      // Locked here: the fare and the count are exact under concurrent use.
      const [here] = await source.rows<HardlineRow>('SELECT * FROM hardlines WHERE hardline_id = ? FOR UPDATE', [fromId]);
      if (!here || Number(here.district_id) !== Number(locked.district_id))
        throw new WrongDistrictError(cid, Number(from!.district_id), Number(locked.district_id));
      const [there] = await target.rows<HardlineRow>('SELECT * FROM hardlines WHERE hardline_id = ?', [toId]);
      if (!there) throw new NotFoundError('hardline', toId);
      if (rules.known) await checkKnown(source, cid, rules.known, here, there);
      for (const h of [here, there]) {
        if (!h.is_active) throw new InvalidStateError('hardline', Number(h.hardline_id), 'inactive');
        // A private hardline opens with its access code (either end).
        if (h.hardline_type === 'private' && h.access_code && h.access_code !== rules.accessCode)
          throw new InvalidStateError('hardline', Number(h.hardline_id), 'private', `hardline ${h.hardline_id} needs its access code`);
      }
      const [c] = await source.rows<{ level: number; faction: string }>('SELECT level, faction FROM characters WHERE character_id = ?', [
        cid,
      ]);
      const actor = {
        characterId: cid,
        money: Number(locked.money),
        districtId: Number(locked.district_id),
        level: Number(c!.level),
        faction: c!.faction,
      };
      for (const h of [here, there])
        checkRequirements(actor, Number(h.level_requirement ?? 1), h.faction_requirement, `hardline ${h.hardline_id}`);
      cost = Number(here.connection_cost ?? 0);
      if (cost > 0) {
        if (actor.money < cost) throw new InsufficientFundsError(cid, cost, actor.money);
        await source.exec('UPDATE characters SET money = money - ? WHERE character_id = ?', [cost, cid]);
        await source.exec(
          `INSERT INTO transaction_history (from_character_id, transaction_type, money_amount, transaction_reason, district_id)
         VALUES (?, 'vendor_purchase', ?, ?, ?)`,
          [cid, cost, `hardline fare ${fromId}->${toId}`, actor.districtId],
        );
        await source.exec('UPDATE character_statistics SET money_spent = money_spent + ? WHERE character_id = ?', [cost, cid]);
      }
      await source.exec('UPDATE hardlines SET usage_count = usage_count + 1, last_used = NOW() WHERE hardline_id = ?', [fromId]);
    },
    rules.fencingToken,
  );
  return { ...moved, cost };
}

/**
 * The client's trip: the numbers still name these hardlines, the destination is known to the
 * character (its own row, locked with it), and the source becomes known (written before the
 * rows are copied, so it moves with the character).
 */
async function checkKnown(
  source: PooledConnection,
  cid: number,
  known: { from: HardlinePlace; to: HardlinePlace },
  here: HardlineRow,
  there: HardlineRow,
): Promise<void> {
  for (const [row, place] of [
    [here, known.from],
    [there, known.to],
  ] as const) {
    if (Number(row.district_id) !== place.districtId || Number(row.hardline_number) !== place.hardlineNumber)
      throw new NotFoundError('hardline', `${place.districtId}/${place.hardlineNumber}`);
  }
  const [isKnown] = await source.rows(
    'SELECT 1 FROM character_known_hardlines WHERE character_id = ? AND district_id = ? AND hardline_number = ?',
    [cid, known.to.districtId, known.to.hardlineNumber],
  );
  if (!isKnown)
    throw new ForbiddenError(
      'hardline travel',
      `character ${cid} has not discovered hardline ${known.to.hardlineNumber} of district ${known.to.districtId}`,
    );
  await source.exec('INSERT IGNORE INTO character_known_hardlines (character_id, district_id, hardline_number) VALUES (?, ?, ?)', [
    cid,
    known.from.districtId,
    known.from.hardlineNumber,
  ]);
}
