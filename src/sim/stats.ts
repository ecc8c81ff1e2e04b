/** Outcomes of one simulated operation: refused by a game rule (a typed error) is normal play. */
export type Outcome = 'ok' | 'refused' | 'failed';

/** Codes that mean the game said no (not enough money, out of stock, ...), not that something broke. */
const GAME_REFUSALS = new Set([
  'INSUFFICIENT_FUNDS',
  'OUT_OF_STOCK',
  'REQUIREMENT_NOT_MET',
  'TRADE_ABORTED',
  'INVALID_STATE',
  'WRONG_DISTRICT',
  'ITEM_NOT_ALLOWED',
  'NOT_FOUND',
  'NAME_TAKEN',
  'CONFLICT',
  'AUTH',
  'PRESENCE_HELD',
]);

/** Classifies an error thrown by a library call. */
export function outcomeOf(error: unknown): { outcome: Outcome; code: string } {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string' && GAME_REFUSALS.has(code)) return { outcome: 'refused', code };
  return { outcome: 'failed', code: typeof code === 'string' ? code : ((error as Error)?.name ?? 'unknown') };
}

/** Counters of one interval, as a worker reports them to the parent. */
export interface StatsSnapshot {
  ops: Record<string, { ok: number; refused: number; failed: number }>;
  failures: Record<string, number>;
  /** Latencies (ms) of this interval, a bounded sample. */
  latencies: number[];
  online: number;
  /** Cumulative: when this process's first login started, when its last player entered the world, how many did (epoch ms). */
  arrivals: Arrivals;
}

export interface Arrivals {
  firstLoginAt: number | null;
  lastEnteredAt: number | null;
  entered: number;
}

/** Collects what simulated players did, per operation. */
export class Stats {
  private ops: StatsSnapshot['ops'] = {};
  private failures: Record<string, number> = {};
  private latencies: number[] = [];
  online = 0;
  private readonly arrivals: Arrivals = { firstLoginAt: null, lastEnteredAt: null, entered: 0 };

  loginStarted(): void {
    this.arrivals.firstLoginAt ??= Date.now();
  }

  entered(): void {
    this.arrivals.entered++;
    this.arrivals.lastEnteredAt = Date.now();
  }

  record(op: string, ms: number, outcome: Outcome, code?: string): void {
    const entry = (this.ops[op] ??= { ok: 0, refused: 0, failed: 0 });
    entry[outcome]++;
    if (outcome === 'failed') {
      const key = `${op}: ${code ?? 'unknown'}`;
      this.failures[key] = (this.failures[key] ?? 0) + 1;
    }
    // A bounded sample is enough for a p99 over a one-second window.
    if (this.latencies.length < 5_000) this.latencies.push(ms);
    else this.latencies[Math.floor(Math.random() * 5_000)] = ms;
  }

  /** Returns this interval's counters and starts a new interval. */
  take(): StatsSnapshot {
    const snapshot = {
      ops: this.ops,
      failures: this.failures,
      latencies: this.latencies,
      online: this.online,
      arrivals: { ...this.arrivals },
    };
    this.ops = {};
    this.failures = {};
    this.latencies = [];
    return snapshot;
  }
}

/** Adds interval snapshots into running totals. */
export function mergeInto(total: Pick<StatsSnapshot, 'ops' | 'failures'>, part: StatsSnapshot): void {
  for (const [op, counts] of Object.entries(part.ops)) {
    const entry = (total.ops[op] ??= { ok: 0, refused: 0, failed: 0 });
    entry.ok += counts.ok;
    entry.refused += counts.refused;
    entry.failed += counts.failed;
  }
  for (const [key, n] of Object.entries(part.failures)) total.failures[key] = (total.failures[key] ?? 0) + n;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
