import type { ClusterConfig } from '../config/cluster-config.js';
import { UnknownDistrictError } from '../errors.js';
import type { Metrics } from '../metrics/metrics.js';
import { NodePool } from '../pool/node-pool.js';

/** The key of a tier or shard: `global` or a shard name. Every primary is addressed by one. */
export type ShardKey = string;
export const GLOBAL: ShardKey = 'global';

/** The primary and replica pools of one shard (or of global). */
export interface ShardNodes {
  key: ShardKey;
  primary: NodePool;
  replicas: NodePool[];
  districts: number[];
}

/**
 * Every node of the cluster, with one pool each, and the district -> shard map.
 * The config is the routing truth for districts.
 */
export class Topology {
  readonly global: ShardNodes;
  readonly shards: ShardNodes[];
  private readonly byKey = new Map<ShardKey, ShardNodes>();
  private readonly districtOwner = new Map<number, ShardKey>();

  constructor(readonly config: ClusterConfig, metrics: Metrics) {
    const poolOptions = { ...config.pool, statementTimeoutMs: config.twoPhase.statementTimeoutMs };
    const nodes = (key: ShardKey, primary: ClusterConfig['global']['primary'], replicas: ClusterConfig['global']['replicas'], districts: number[]): ShardNodes => ({
      key,
      primary: new NodePool({ shard: key, role: 'primary', name: `${key}-primary` }, primary, poolOptions, metrics),
      replicas: replicas.map(
        (address, i) => new NodePool({ shard: key, role: 'replica', name: `${key}-replica-${i + 1}` }, address, poolOptions, metrics),
      ),
      districts,
    });
    this.global = nodes(GLOBAL, config.global.primary, config.global.replicas, []);
    this.byKey.set(GLOBAL, this.global);
    this.shards = config.shards.map((s) => nodes(s.name, s.primary, s.replicas, s.districts));
    for (const shard of this.shards) {
      this.byKey.set(shard.key, shard);
      for (const d of shard.districts) this.districtOwner.set(d, shard.key);
    }
  }

  /** The shard that owns `districtId`; throws {@link UnknownDistrictError} naming it otherwise. */
  shardOfDistrict(districtId: number): ShardKey {
    const owner = this.districtOwner.get(districtId);
    if (owner === undefined) throw new UnknownDistrictError(districtId);
    return owner;
  }

  /** Every configured district, ascending. */
  allDistricts(): number[] {
    return [...this.districtOwner.keys()].sort((a, b) => a - b);
  }

  nodes(key: ShardKey): ShardNodes {
    const nodes = this.byKey.get(key);
    if (!nodes) throw new Error(`unknown shard "${key}"`);
    return nodes;
  }

  primary(key: ShardKey): NodePool {
    return this.nodes(key).primary;
  }

  /** Global and every shard: every primary, in a stable order. */
  all(): ShardNodes[] {
    return [this.global, ...this.shards];
  }

  pools(): NodePool[] {
    return this.all().flatMap((n) => [n.primary, ...n.replicas]);
  }

  async close(): Promise<void> {
    await Promise.all(this.pools().map((p) => p.close()));
  }
}
