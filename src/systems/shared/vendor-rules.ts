import { InvalidStateError, NotFoundError, RequirementNotMetError, WrongDistrictError } from '../../errors.js';
import type { PooledConnection, Row } from '../../pool/pooled-connection.js';
import type { Router } from '../../routing/router.js';
import { knownShard, rememberShard, shardOfWorldRow } from './world-rows.js';

/** The acting character's row, read under the lock the caller already holds. */
export interface Actor {
  characterId: number;
  money: number;
  districtId: number;
  level: number;
  faction: string;
}

/** Reads the locked character's level and faction (after `lockCharacter`). */
export async function readActor(
  conn: PooledConnection,
  characterId: number,
  locked: { money: number | string; district_id: number },
): Promise<Actor> {
  const [row] = await conn.rows<{ level: number; faction: string }>('SELECT level, faction FROM characters WHERE character_id = ?', [
    characterId,
  ]);
  return {
    characterId,
    money: Number(locked.money),
    districtId: Number(locked.district_id),
    level: Number(row!.level),
    faction: row!.faction,
  };
}

/**
 * The district of a vendor, found before the transaction (vendors never move; remembered per
 * topology), so the transaction never waits on another shard while it holds the character's lock.
 */
export async function vendorDistrict(router: Router, vendorId: number): Promise<number> {
  const key = `vendor_district:${vendorId}`;
  const known = knownShard(router, key);
  if (known) return Number(known);
  const shard = await shardOfWorldRow(router, 'vendors', vendorId);
  const [row] = await router.readShard('vendor_district', shard, 'strong', (c) =>
    c.rows<{ district_id: number }>('SELECT district_id FROM vendors WHERE vendor_id = ?', [vendorId]),
  );
  if (!row) throw new NotFoundError('vendor', vendorId);
  rememberShard(router, key, String(row.district_id));
  return Number(row.district_id);
}

/**
 * A vendor the character can deal with: in the character's district (so on this shard), active,
 * level and faction requirements met.
 */
export async function vendorFor(conn: PooledConnection, district: number, vendorId: number, actor: Actor): Promise<Row> {
  if (district !== actor.districtId) throw new WrongDistrictError(actor.characterId, district, actor.districtId);
  const [vendor] = await conn.rows('SELECT * FROM vendors WHERE vendor_id = ?', [vendorId]);
  if (!vendor) throw new NotFoundError('vendor', vendorId);
  if (!vendor.is_active) throw new InvalidStateError('vendor', vendorId, 'inactive');
  checkRequirements(actor, Number(vendor.level_requirement ?? 1), vendor.faction_requirement as string | null, `vendor ${vendorId}`);
  return vendor;
}

/** Level and faction checks shared by vendors and hardlines. */
export function checkRequirements(actor: Actor, level: number, faction: string | null, what: string): void {
  if (actor.level < level)
    throw new RequirementNotMetError('level', `${what} needs level ${level}, character ${actor.characterId} is level ${actor.level}`);
  if (faction && actor.faction !== faction)
    throw new RequirementNotMetError('faction', `${what} needs faction ${faction}, character ${actor.characterId} is ${actor.faction}`);
}

/** Adds to today's economy counters of this shard (the row UpdateEconomyMetrics also writes). */
export async function bumpEconomy(
  conn: PooledConnection,
  counters: { vendorSales?: number; itemsCreated?: number; itemsDestroyed?: number },
): Promise<void> {
  const v = counters.vendorSales ?? 0;
  const c = counters.itemsCreated ?? 0;
  const d = counters.itemsDestroyed ?? 0;
  await conn.exec(
    `INSERT INTO server_economy (tracking_date, vendor_sales_today, items_created_today, items_destroyed_today) VALUES (CURDATE(), ?, ?, ?)
     ON DUPLICATE KEY UPDATE vendor_sales_today = vendor_sales_today + VALUES(vendor_sales_today),
       items_created_today = items_created_today + VALUES(items_created_today), items_destroyed_today = items_destroyed_today + VALUES(items_destroyed_today)`,
    [v, c, d],
  );
}
