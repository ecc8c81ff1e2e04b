import { InvalidStateError, NotFoundError, RequirementNotMetError, WrongDistrictError } from '../errors.js';
import type { PooledConnection, Row } from '../pool/pooled-connection.js';
import type { Router } from '../routing/router.js';

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
 * A vendor the character can deal with: on this shard, active, in the character's district,
 * level and faction requirements met. A vendor on another shard is in another district.
 */
export async function vendorFor(conn: PooledConnection, router: Router, vendorId: number, actor: Actor): Promise<Row> {
  const [vendor] = await conn.rows('SELECT * FROM vendors WHERE vendor_id = ?', [vendorId]);
  if (!vendor) {
    const elsewhere = await router.readEveryShard(
      'vendor_locate',
      'strong',
      async (c) => (await c.rows<{ district_id: number }>('SELECT district_id FROM vendors WHERE vendor_id = ?', [vendorId]))[0],
    );
    const found = elsewhere.find((r) => r !== undefined);
    if (!found) throw new NotFoundError('vendor', vendorId);
    throw new WrongDistrictError(actor.characterId, Number(found.district_id), actor.districtId);
  }
  if (!vendor.is_active) throw new InvalidStateError('vendor', vendorId, 'inactive');
  if (Number(vendor.district_id) !== actor.districtId)
    throw new WrongDistrictError(actor.characterId, Number(vendor.district_id), actor.districtId);
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
