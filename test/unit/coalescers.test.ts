/**
 * The write-behind's merge rules, without a database: what each coalesced kind keeps when a
 * newer entry meets an older one, the buffer of kinds, and the process's position order.
 */
import { describe, expect, it } from 'vitest';
import { ABILITY_USES, abilityUseKey, type AbilityUses } from '../../src/systems/abilities/ability-uses.js';
import { FENCED_POSITIONS } from '../../src/systems/world/fenced-positions.js';
import { VITALS } from '../../src/systems/characters/vitals-writes.js';
import { CoalescedEntries } from '../../src/writebehind/coalesced.js';
import { PositionOrder } from '../../src/writebehind/position-order.js';

describe('merge rules', () => {
  it('vitals: the newer value of each column wins, a missing one keeps the older', () => {
    expect(VITALS.merge({ health: 10, innerStrength: 5 }, { health: 20 })).toEqual({ health: 20, innerStrength: 5 });
    expect(VITALS.merge({ health: 10 }, { innerStrength: 7 })).toEqual({ health: 10, innerStrength: 7 });
    expect(VITALS.merge({ health: 10, innerStrength: 5 }, { health: 0, innerStrength: 0 })).toEqual({ health: 0, innerStrength: 0 });
  });

  it('ability uses: counts add up (capped at INT), the latest use time wins whatever the order', () => {
    const use = (uses: number, lastUsedMs: number): AbilityUses => ({ characterId: 1, abilityId: 2, uses, lastUsedMs });
    expect(ABILITY_USES.merge(use(3, 1_000), use(2, 500))).toEqual(use(5, 1_000));
    expect(ABILITY_USES.merge(use(3, 500), use(2, 1_000))).toEqual(use(5, 1_000));
    expect(ABILITY_USES.merge(use(2_147_483_000, 1), use(1_000, 2)).uses).toBe(2_147_483_647);
    expect(abilityUseKey(12, 3001)).toBe('12:3001');
  });

  it('fenced positions: the newer position wins with its own token', () => {
    expect(FENCED_POSITIONS.merge({ x: 1, y: 1, z: 1, fencingToken: 4 }, { x: 2, y: 2, z: 2, fencingToken: 5 })).toEqual({
      x: 2,
      y: 2,
      z: 2,
      fencingToken: 5,
    });
  });
});

describe('CoalescedEntries', () => {
  it('keeps one entry per kind and key, merged as it arrives', () => {
    const entries = new CoalescedEntries();
    const use = (uses: number): AbilityUses => ({ characterId: 1, abilityId: 2, uses, lastUsedMs: uses });
    entries.add(ABILITY_USES, '1:2', use(1));
    entries.add(ABILITY_USES, '1:2', use(4));
    entries.add(VITALS, '1', { health: 3 });
    entries.add(VITALS, '1', { innerStrength: 9 });
    expect(entries.size).toBe(2);
    expect(entries.has(ABILITY_USES, '1:2')).toBe(true);
    expect(entries.has(VITALS, '1:2')).toBe(false);
  });
});

describe('PositionOrder', () => {
  it('a position is the latest until a newer one of the same character is stamped', () => {
    const order = new PositionOrder();
    const a1 = order.stamp(1);
    const b1 = order.stamp(2);
    expect(order.isLatest(1, a1)).toBe(true);
    const a2 = order.stamp(1);
    expect(a2).toBeGreaterThan(a1);
    expect(order.isLatest(1, a1)).toBe(false);
    expect(order.isLatest(1, a2)).toBe(true);
    expect(order.isLatest(2, b1)).toBe(true); // other characters are not affected
    expect(order.isLatest(3, 1)).toBe(true); // nothing known: nothing newer
  });
});
