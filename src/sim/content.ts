import type { Cluster } from '../cluster.js';

/** The game content the simulated players use, created once per run (ids shared with workers). */
export interface SimContent {
  tag: string;
  districts: number[];
  templates: { pill: number; coat: number; glasses: number };
  missionId: number;
  abilityId: number;
  /** A vendor per district selling the consumable and the coat. */
  vendors: Record<number, number>;
  /** A public hardline per district; any connects to any. */
  hardlines: Record<number, number>;
  crewIds: number[];
  /** 0 when none could be founded. */
  organizationId: number;
  /** Its leader (a member from the start). */
  organizationFounder: number;
}

/**
 * Defines the templates, a repeatable mission, an ability, a vendor and a hardline in every
 * district, and a few crews and an organization led by `founders` (characters that exist).
 */
export async function seedContent(db: Cluster, tag: string, founders: number[]): Promise<SimContent> {
  const districts = db.config.shards.flatMap((s) => s.districts);
  const pill = await db.items.defineTemplate({ itemName: `Red Pill ${tag}`, itemType: 'consumable', vendorPrice: 5, stackSize: 20 });
  const coat = await db.items.defineTemplate({ itemName: `Long Coat ${tag}`, itemType: 'clothing', vendorPrice: 40, isTradeable: true });
  const glasses = await db.items.defineTemplate({ itemName: `Shades ${tag}`, itemType: 'clothing', vendorPrice: 25 });
  const missionId = await db.missions.defineTemplate({
    missionName: `Courier run ${tag}`,
    missionType: 'side',
    objectives: [
      { description: 'Pick up the package', required: 1 },
      { description: 'Deliver it', required: 2 },
    ],
    experienceReward: 120,
    moneyReward: 30,
    itemRewards: [{ templateId: pill, quantity: 1 }],
    factionStandingRewards: { zion: 2 },
    repeatable: true,
    cooldownSec: 0,
  });
  const { abilityId } = await db.abilities.defineAbility({
    abilityId: 1_000 + Math.floor(Math.random() * 1_000_000),
    abilityName: `Hyper Jump ${tag}`,
  });
  const vendors: Record<number, number> = {};
  const hardlines: Record<number, number> = {};
  for (const districtId of districts) {
    vendors[districtId] = (
      await db.vendors.define({
        vendorName: `Vendor ${districtId} ${tag}`,
        districtId,
        position: { x: 10, y: 0, z: 10 },
        vendorType: 'general',
        restocksInventory: true,
        restockInterval: 60,
        maxInventorySize: 1_000,
        stock: [
          { templateId: pill, maxStock: 400, basePrice: 5, currentStock: 400 },
          { templateId: coat, maxStock: 100, basePrice: 40, currentStock: 100 },
        ],
      })
    ).vendorId;
    hardlines[districtId] = (
      await db.world.defineHardline({
        districtId,
        hardlineName: `Hardline ${districtId} ${tag}`,
        position: { x: 0, y: 0, z: 0 },
        connectionCost: 2,
      })
    ).hardlineId;
  }
  const crewIds: number[] = [];
  for (const [i, captainId] of founders.slice(0, 3).entries()) {
    crewIds.push((await db.social.createCrew({ crewName: `Crew ${i} ${tag}`, captainId })).crewId);
  }
  // An organization needs a leader of its faction: the founder takes Zion's side first.
  await db.characters.setFaction(founders[0]!, 'zion');
  const organizationId = await db.organizations
    .create({ organizationName: `Zion Guard ${tag}`, faction: 'zion', leaderId: founders[0]! })
    .then((o) => o.organizationId)
    .catch(() => 0);
  return {
    tag,
    districts,
    templates: { pill, coat, glasses },
    missionId,
    abilityId,
    vendors,
    hardlines,
    crewIds,
    organizationId,
    organizationFounder: founders[0]!,
  };
}
