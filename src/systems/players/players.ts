import { z } from 'zod';
import { NotFoundError } from '../../errors.js';
import type { Consistency } from '../../routing/read-router.js';
import { parseInput } from '../../validate.js';
import { consistencyOf } from '../../routing/consistency.js';
import { readEquipmentSummary, type EquipmentSummaryRow } from './equipment-summary.js';
import type { RepoContext } from '../shared/context.js';
import { id } from '../shared/fields.js';

/** The seed's `player_summary` view, which crosses tiers, gathered from global and the shard. */
export interface PlayerSummary {
  characterId: number;
  characterName: string;
  level: number;
  faction: string;
  isOnline: boolean;
  lastLogin: Date | null;
  accountId: number;
  username: string;
  accountStatus: string;
  crewName: string;
  organizationName: string;
  shard: string;
}

/** One money or item movement of a character, from whichever shard recorded it. */
export interface HistoryEntry {
  shard: string;
  transactionId: number;
  transactionType: string;
  fromCharacterId: number | null;
  toCharacterId: number | null;
  moneyAmount: number;
  itemsTransferred: unknown;
  relatedTradeId: number | null;
  transactionDate: Date;
}

/** A row of the PvP leaderboard. */
export interface LeaderboardEntry {
  characterId: number;
  characterName: string;
  pvpRating: number;
  pvpWins: number;
  pvpLosses: number;
  shard: string;
}

/** Reads that gather one player's data from several tiers or every shard. */
export interface EquipmentSummary {
  characterId: number;
  characterName: string;
  /** Equipped slots (the seed's character_equipment_summary view); empty when nothing is equipped. */
  slots: EquipmentSummaryRow[];
  shard: string;
}

export class Players {
  constructor(private readonly ctx: RepoContext) {}

  /**
   * The seed's `character_equipment_summary` view for one character, from its shard (replica-eligible).
   * @example const { slots } = await db.players.equipmentSummary(characterId);
   */
  async equipmentSummary(characterId: number, options: { consistency?: Consistency } = {}): Promise<EquipmentSummary> {
    const cid = parseInput(id, characterId, 'character id');
    return this.ctx.router.readCharacter('equipment_summary', cid, consistencyOf(options, 'session'), async (conn, route) => {
      const summary = await readEquipmentSummary(conn, cid);
      return summary && { characterId: cid, ...summary, shard: route.shard };
    });
  }

  /**
   * `player_summary` for one character: account and crew/organisation from global, the rest from its shard.
   *
   * @example
   * const { username, crewName, shard } = await db.players.summary(characterId);
   */
  async summary(characterId: number, options: { consistency?: Consistency } = {}): Promise<PlayerSummary> {
    const cid = parseInput(id, characterId, 'character id');
    const level = consistencyOf(options, 'session');
    const router = this.ctx.router;
    const [{ character, shard }, account] = await Promise.all([
      router.readCharacter('player_summary', cid, level, async (conn, route) => {
        const [row] = await conn.rows<Record<string, unknown>>(
          'SELECT character_name, level, faction, is_online, last_login FROM characters WHERE character_id = ?',
          [cid],
        );
        return row && { character: row, shard: route.shard };
      }),
      router.readGlobal(
        'player_summary',
        level,
        async (conn) =>
          (
            await conn.rows<Record<string, unknown>>(
              `SELECT a.account_id, a.username, a.account_status,
                    COALESCE(crew.crew_name, 'None') AS crew_name, COALESCE(org.organization_name, 'None') AS organization_name
               FROM character_directory d JOIN accounts a ON a.account_id = d.account_id
               LEFT JOIN crew_members cm ON cm.character_id = d.character_id
               LEFT JOIN crews crew ON crew.crew_id = cm.crew_id
               LEFT JOIN organization_members om ON om.character_id = d.character_id
               LEFT JOIN organizations org ON org.organization_id = om.organization_id
              WHERE d.character_id = ? LIMIT 1`,
              [cid],
            )
          )[0],
      ),
    ]);
    if (!account) throw new NotFoundError('character', cid);
    return {
      characterId: cid,
      characterName: String(character.character_name),
      level: Number(character.level),
      faction: String(character.faction),
      isOnline: Boolean(character.is_online),
      lastLogin: (character.last_login as Date | null) ?? null,
      accountId: Number(account.account_id),
      username: String(account.username),
      accountStatus: String(account.account_status),
      crewName: String(account.crew_name),
      organizationName: String(account.organization_name),
      shard,
    };
  }

  /**
   * A character's money and item history from every shard (event records stay where they
   * happened, so a character that moved has history on several shards). Newest first.
   *
   * @example
   * const entries = await db.players.history(characterId, { limit: 50 });
   */
  async history(characterId: number, options: { limit?: number; consistency?: Consistency } = {}): Promise<HistoryEntry[]> {
    const cid = parseInput(id, characterId, 'character id');
    const limit = parseInput(z.number().int().min(1).max(1000).default(100), options.limit, 'limit');
    const level = consistencyOf(options, 'session');
    const perShard = await this.ctx.router.readEveryShard('character_history', level, async (conn, shard) => {
      const rows = await conn.rows<Record<string, unknown>>(
        `SELECT transaction_id, transaction_type, from_character_id, to_character_id, money_amount, items_transferred,
                    related_trade_id, transaction_date
               FROM transaction_history WHERE from_character_id = ? OR to_character_id = ?
              ORDER BY transaction_date DESC, transaction_id DESC LIMIT ${limit}`,
        [cid, cid],
      );
      return rows.map((r): HistoryEntry => ({
        shard,
        transactionId: Number(r.transaction_id),
        transactionType: String(r.transaction_type),
        fromCharacterId: r.from_character_id === null ? null : Number(r.from_character_id),
        toCharacterId: r.to_character_id === null ? null : Number(r.to_character_id),
        moneyAmount: Number(r.money_amount),
        itemsTransferred: typeof r.items_transferred === 'string' ? JSON.parse(r.items_transferred) : r.items_transferred,
        relatedTradeId: r.related_trade_id === null ? null : Number(r.related_trade_id),
        transactionDate: r.transaction_date as Date,
      }));
    });
    return perShard
      .flat()
      .sort((a, b) => b.transactionDate.getTime() - a.transactionDate.getTime() || b.transactionId - a.transactionId)
      .slice(0, limit);
  }

  /**
   * The top PvP ratings across every shard (replica-eligible; `eventual` by default).
   *
   * @example
   * const top = await db.players.leaderboard({ limit: 10 });
   */
  async leaderboard(options: { limit?: number; consistency?: Consistency } = {}): Promise<LeaderboardEntry[]> {
    const limit = parseInput(z.number().int().min(1).max(1000).default(10), options.limit, 'limit');
    const level = consistencyOf(options, 'eventual');
    const perShard = await this.ctx.router.readEveryShard('leaderboard', level, async (conn, shard) =>
      (
        await conn.rows<Record<string, unknown>>(
          `SELECT p.character_id, c.character_name, p.pvp_rating, p.pvp_wins, p.pvp_losses
               FROM pvp_statistics p JOIN characters c ON c.character_id = p.character_id
              ORDER BY p.pvp_rating DESC, p.character_id LIMIT ${limit}`,
        )
      ).map((r): LeaderboardEntry => ({
        characterId: Number(r.character_id),
        characterName: String(r.character_name),
        pvpRating: Number(r.pvp_rating),
        pvpWins: Number(r.pvp_wins),
        pvpLosses: Number(r.pvp_losses),
        shard,
      })),
    );
    return perShard
      .flat()
      .sort((a, b) => b.pvpRating - a.pvpRating || a.characterId - b.characterId)
      .slice(0, limit);
  }
}
