/** The other pure game rules, without a database: reputation, mastery, vitals maxima, slots, repairs. */
import { describe, expect, it } from 'vitest';
import { HEALTH_PER_VITALITY, INNER_STRENGTH_PER_FOCUS, vitalsMaxima } from '../../src/systems/characters/attributes.js';
import { REPAIR_RATE, SLOT_NAMES, repairCost, slotMismatch, wornOf, wornSlotAt } from '../../src/systems/shared/equipment-slots.js';
import { MASTERY_POINTS_FULL, masteryPercentage } from '../../src/systems/abilities/mastery.js';
import { MAX_STANDING, MIN_STANDING, clampStanding, reputationLevel } from '../../src/systems/shared/reputation.js';

describe('reputation', () => {
  it('clamps standing to -1000..1000 and bands it at each threshold', () => {
    expect([clampStanding(-5000), clampStanding(5000), clampStanding(42)]).toEqual([MIN_STANDING, MAX_STANDING, 42]);
    const at = (points: number) => reputationLevel(points);
    expect([-1000, -501, -500, -101, -100, 99, 100, 499, 500, 899, 900, 1000].map(at)).toEqual([
      'hostile',
      'hostile',
      'unfriendly',
      'unfriendly',
      'neutral',
      'neutral',
      'friendly',
      'friendly',
      'ally',
      'ally',
      'champion',
      'champion',
    ]);
  });
});

describe('mastery and vitals', () => {
  it('mastery is proportional to points and stops at 100 %', () => {
    expect(masteryPercentage(0)).toBe(0);
    expect(masteryPercentage(MASTERY_POINTS_FULL / 2)).toBe(50);
    expect(masteryPercentage(MASTERY_POINTS_FULL * 3)).toBe(100);
  });

  it('the seed defaults fit the vitals rule: vitality 20 -> 200 health, focus 20 -> 160 inner strength', () => {
    expect(vitalsMaxima({ vitality: 20, focus: 20 })).toEqual({ maxHealth: 200, maxInnerStrength: 160 });
    expect(vitalsMaxima({ vitality: 1, focus: 1 })).toEqual({ maxHealth: HEALTH_PER_VITALITY, maxInnerStrength: INNER_STRENGTH_PER_FOCUS });
  });
});

describe('equipment slots', () => {
  it('an item fits its type; a clothing piece only its own slot', () => {
    expect(slotMismatch('weapon_primary', 'weapon', null)).toBeUndefined();
    expect(slotMismatch('weapon_primary', 'clothing', 'hat')).toMatch(/does not fit/);
    expect(slotMismatch('clothing_head', 'clothing', 'Hat')).toBeUndefined();
    expect(slotMismatch('clothing_feet', 'clothing', 'hat')).toBe('a hat belongs in slot clothing_head');
    // A subtype no slot names fits any clothing slot.
    expect(slotMismatch('clothing_feet', 'clothing', 'cape')).toBeUndefined();
  });

  it('worn clothing maps to the client slots 0x61-0x68 and back; the backpack is not worn', () => {
    for (const slot of SLOT_NAMES) {
      const worn = wornOf(slot);
      if (worn) expect(wornSlotAt(worn.slot)).toBe(slot);
    }
    expect(wornOf('clothing_head')).toEqual({ slot: 0x61, part: 'hat' });
    expect(wornOf('weapon_primary')).toBeUndefined();
    expect(wornSlotAt(0x10)).toBeUndefined();
  });

  it('a repair costs REPAIR_RATE of the base value per 100 points lost, at least 1, nothing when whole', () => {
    expect(repairCost(1000, 100)).toBe(0);
    expect(repairCost(1000, 0)).toBe(1000 * REPAIR_RATE);
    expect(repairCost(1000, 50)).toBe(125);
    expect(repairCost(1, 99)).toBe(1);
  });
});
