import { z } from 'zod';
import { FACTIONS, type Faction, type ReputationLevel } from '../shared/reputation.js';
import { consistencyOf } from '../../routing/consistency.js';
import type { Consistency } from '../../routing/read-router.js';
import { adjustStandingRow, type StandingChange } from '../shared/standings.js';
import { parseInput } from '../../validate.js';
import {
  adjustReputationRow,
  readReputations,
  REPUTATION_ORGANIZATIONS,
  type ReputationOrganization,
  type Reputations,
} from '../shared/reputations.js';
import type { RepoContext } from '../shared/context.js';
import { fencing, type WriteOptions } from '../shared/write-options.js';
import { id } from '../shared/fields.js';

export type { StandingChange } from '../shared/standings.js';
export type { Reputations, ReputationOrganization } from '../shared/reputations.js';

/** A character's standing with one faction (factions never adjusted read as 0, neutral). */
export interface FactionStanding {
  faction: Faction;
  standingPoints: number;
  reputationLevel: ReputationLevel;
  lastUpdated: Date | null;
}

/**
 * Faction standings (character_faction_standings, on the character's shard): points from -1000
 * to +1000 and the reputation level derived from them by one rule (src/systems/shared/reputation.ts).
 */
export class Factions {
  constructor(private readonly ctx: RepoContext) {}

  /**
   * Adds `delta` points (negative to lose standing), clamped to -1000..1000.
   *
   * @example
   * const { standingPoints, reputationLevel } = await db.factions.adjustStanding(characterId, 'zion', 25);
   */
  async adjustStanding(characterId: number, faction: Faction, delta: number, options: WriteOptions = {}): Promise<StandingChange> {
    const cid = parseInput(id, characterId, 'character id');
    const f = parseInput(z.enum(FACTIONS), faction, 'faction');
    const d = parseInput(
      z
        .number()
        .int()
        .min(-2000)
        .max(2000)
        .refine((n) => n !== 0, 'must not be 0'),
      delta,
      'delta',
    );
    return this.ctx.router.onCharacter(
      'faction_adjust',
      cid,
      async (conn, route) => {
        return adjustStandingRow(conn, cid, f, d);
      },
      fencing(options),
    );
  }

  /**
   * The character's standing with every faction, in a fixed order (zion, machine, merovingian).
   *
   * @example
   * const standings = await db.factions.standings(characterId);
   */
  async standings(characterId: number, options: { consistency?: Consistency } = {}): Promise<FactionStanding[]> {
    const cid = parseInput(id, characterId, 'character id');
    return this.ctx.router.readCharacter('faction_standings', cid, consistencyOf(options, 'session'), async (conn) => {
      const rows = await conn.rows<{
        character_id: number;
        faction: Faction | null;
        standing_points: number;
        reputation_level: ReputationLevel;
        last_updated: Date;
      }>(
        `SELECT c.character_id, s.faction, s.standing_points, s.reputation_level, s.last_updated
           FROM characters c LEFT JOIN character_faction_standings s ON s.character_id = c.character_id WHERE c.character_id = ?`,
        [cid],
      );
      if (rows.length === 0) return undefined;
      return FACTIONS.map((faction) => {
        const row = rows.find((r) => r.faction === faction);
        return {
          faction,
          standingPoints: Number(row?.standing_points ?? 0),
          reputationLevel: row?.reputation_level ?? 'neutral',
          lastUpdated: row?.last_updated ?? null,
        };
      });
    });
  }

  /**
   * The seven reputations the client's profile shows (zion_military, machines, merovingian, niobe,
   * epn, cypherites, gm; 0 when never changed) and the CQ points.
   * @example
   * const { reputations, cqPoints } = await db.factions.reputations(characterId);
   */
  async reputations(characterId: number, options: { consistency?: Consistency } = {}): Promise<Reputations> {
    const cid = parseInput(id, characterId, 'character id');
    return this.ctx.router.readCharacter('faction_reputations', cid, consistencyOf(options, 'session'), (conn) =>
      readReputations(conn, cid),
    );
  }

  /**
   * Adds `delta` (negative to lose) to one of the seven reputations; returns its new points.
   * @example
   * const { points } = await db.factions.adjustReputation(characterId, 'niobe', 50);
   */
  async adjustReputation(
    characterId: number,
    organization: ReputationOrganization,
    delta: number,
    options: WriteOptions = {},
  ): Promise<{ points: number }> {
    const cid = parseInput(id, characterId, 'character id');
    const org = parseInput(z.enum(REPUTATION_ORGANIZATIONS), organization, 'organization');
    const d = parseInput(
      z
        .number()
        .int()
        .min(-1_000_000)
        .max(1_000_000)
        .refine((n) => n !== 0, 'must not be 0'),
      delta,
      'delta',
    );
    return this.ctx.router.onCharacter(
      'reputation_adjust',
      cid,
      async (conn, route) => {
        return { points: await adjustReputationRow(conn, cid, org, d) };
      },
      fencing(options),
    );
  }
}
