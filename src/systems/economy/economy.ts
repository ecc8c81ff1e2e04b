import { z } from 'zod';
import type { Consistency } from '../../routing/read-router.js';
import { parseInput } from '../../validate.js';
import { consistencyOf } from '../../routing/consistency.js';
import type { RepoContext } from '../shared/context.js';

/** One day of the economy, for one shard or rolled up over the cluster. */
export interface EconomyDay {
  trackingDate: string;
  totalMoneyInCirculation: number;
  moneyCreatedToday: number;
  moneyDestroyedToday: number;
  tradesCompletedToday: number;
}

interface EconomyRow {
  tracking_date: string;
  total_money_in_circulation: number | string;
  money_created_today: number | string;
  money_destroyed_today: number | string;
  trades_completed_today: number | string;
}

const SELECT_DAY = `SELECT DATE_FORMAT(tracking_date, '%Y-%m-%d') AS tracking_date, total_money_in_circulation,
  money_created_today, money_destroyed_today, trades_completed_today FROM server_economy WHERE tracking_date = ?`;

/**
 * The economy roll-up: each shard computes its own day with the seed's UpdateEconomyMetrics
 * procedure; the library sums the shards into global `server_economy`.
 */
export class Economy {
  constructor(private readonly ctx: RepoContext) {}

  /**
   * Recomputes today's figures on every shard and writes their sum to global.
   *
   * @example
   * const { totalMoneyInCirculation } = await db.economy.rollUp();
   */
  async rollUp(): Promise<EconomyDay> {
    const router = this.ctx.router;
    const perShard = await Promise.all(
      router.topology.shards.map((nodes) =>
        router.onShard('economy_shard', nodes.key, async (conn) => {
          await conn.text('CALL UpdateEconomyMetrics()');
          const [day] = await conn.rows<{ d: string }>("SELECT DATE_FORMAT(CURDATE(), '%Y-%m-%d') AS d");
          // A cross-shard trade leaves a trade_sessions row on both shards: count trade ids once.
          const trades = await conn.rows<{ trade_id: number }>(
            "SELECT trade_id FROM trade_sessions WHERE trade_status = 'completed' AND completed_date >= CURDATE() AND completed_date < CURDATE() + INTERVAL 1 DAY",
          );
          const [row] = await conn.rows<EconomyRow>(SELECT_DAY, [day!.d]);
          return { row: row!, tradeIds: trades.map((t) => Number(t.trade_id)) };
        }),
      ),
    );
    const rows = perShard.map((r) => r.row);
    const total: EconomyDay = {
      trackingDate: rows[0]!.tracking_date,
      totalMoneyInCirculation: sum(rows.map((r) => r.total_money_in_circulation)),
      moneyCreatedToday: sum(rows.map((r) => r.money_created_today)),
      moneyDestroyedToday: sum(rows.map((r) => r.money_destroyed_today)),
      tradesCompletedToday: new Set(perShard.flatMap((r) => r.tradeIds)).size,
    };
    await router.onGlobal('economy_rollup', (conn) =>
      conn.exec(
        `INSERT INTO server_economy (tracking_date, total_money_in_circulation, money_created_today, money_destroyed_today, trades_completed_today)
         VALUES (?, ?, ?, ?, ?)
         ON DUPLICATE KEY UPDATE total_money_in_circulation = VALUES(total_money_in_circulation),
           money_created_today = VALUES(money_created_today), money_destroyed_today = VALUES(money_destroyed_today),
           trades_completed_today = VALUES(trades_completed_today)`,
        [total.trackingDate, total.totalMoneyInCirculation, total.moneyCreatedToday, total.moneyDestroyedToday, total.tradesCompletedToday],
      ),
    );
    return total;
  }

  /**
   * The cluster roll-up of one day (`YYYY-MM-DD`), replica-eligible; undefined before any roll-up.
   *
   * @example
   * const day = await db.economy.day('2026-11-30');
   */
  async day(date: string, options: { consistency?: Consistency } = {}): Promise<EconomyDay | undefined> {
    const day = parseInput(z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD'), date, 'date');
    const consistency = consistencyOf(options, 'session');
    const [row] = await this.ctx.router.readGlobal('economy_day', consistency, (conn) => conn.rows<EconomyRow>(SELECT_DAY, [day]));
    if (!row) return undefined;
    return {
      trackingDate: row.tracking_date,
      totalMoneyInCirculation: Number(row.total_money_in_circulation),
      moneyCreatedToday: Number(row.money_created_today),
      moneyDestroyedToday: Number(row.money_destroyed_today),
      tradesCompletedToday: Number(row.trades_completed_today),
    };
  }
}

function sum(values: Array<number | string>): number {
  return values.reduce<number>((s, v) => s + Number(v), 0);
}
