import { ConfigError, type FieldIssue } from '../errors.js';
import { toFieldIssues } from '../validate.js';
import { resolveNode, resolveTls, type NodeAddress } from './node-address.js';
import {
  clusterConfigSchema,
  type ClusterConfigInput,
  type PoolOptions,
  type ReadsOptions,
  type RecoveryOptions,
  type ReplicaPolicy,
  type TwoPhaseOptions,
  type WriteBehindConfig, type MaintenanceConfig,
  type PresenceConfig,
  type ApprovedShard,
} from './schema.js';

export interface ShardConfig {
  name: string;
  primary: NodeAddress;
  replicas: NodeAddress[];
  districts: number[];
}

/** A validated cluster config with every node resolved. */
export interface ClusterConfig {
  global: { primary: NodeAddress; replicas: NodeAddress[] };
  shards: ShardConfig[];
  pool: PoolOptions;
  replicas: ReplicaPolicy;
  reads: ReadsOptions;
  recovery: RecoveryOptions;
  twoPhase: TwoPhaseOptions;
  writeBehind: WriteBehindConfig;
  maintenance: MaintenanceConfig;
  presence: PresenceConfig;
  /** Shards beyond `shards` this process may connect to when global names them (exact address). */
  approvedShards: ApprovedShard[];
  /** The cluster-wide TLS settings (PEM, files read), for shards learned from global. */
  tls: NodeAddress['tls'];
}

/**
 * Identity helper for `shards.config.ts`: gives editor completion and type checks, and
 * returns its argument unchanged (validation happens in `openCluster`).
 */
export function defineCluster(config: ClusterConfigInput): ClusterConfigInput {
  return config;
}

/** Validates a config and resolves its nodes; throws {@link ConfigError} naming every bad field. */
export function resolveClusterConfig(input: unknown, env: NodeJS.ProcessEnv = process.env): ClusterConfig {
  const parsed = clusterConfigSchema.safeParse(input);
  if (!parsed.success) throw new ConfigError(toFieldIssues(parsed.error), { cause: parsed.error });
  const config = parsed.data;
  const issues: FieldIssue[] = [];
  const resolve = (node: Parameters<typeof resolveNode>[0], field: string): NodeAddress => {
    const result = resolveNode(node, field, env, config.tls);
    if ('field' in result) {
      issues.push(result);
      return { host: '', port: 0, user: '', password: undefined, database: '' };
    }
    return result;
  };
  const resolved: ClusterConfig = {
    global: {
      primary: resolve(config.global.primary, 'global.primary'),
      replicas: config.global.replicas.map((r, i) => resolve(r, `global.replicas.${i}`)),
    },
    shards: config.shards.map((s, i) => ({
      name: s.name,
      primary: resolve(s.primary, `shards.${i}.primary`),
      replicas: s.replicas.map((r, j) => resolve(r, `shards.${i}.replicas.${j}`)),
      districts: s.districts,
    })),
    pool: config.pool,
    replicas: config.replicas,
    reads: config.reads,
    recovery: config.recovery,
    twoPhase: config.twoPhase,
    writeBehind: config.writeBehind,
    maintenance: config.maintenance,
    presence: config.presence,
    approvedShards: config.approvedShards,
    tls: undefined,
  };
  if (config.tls !== undefined) {
    const tls = resolveTls(config.tls, 'tls');
    if ('field' in tls) issues.push(tls);
    else resolved.tls = tls;
  }
  if (issues.length > 0) {
    // A bad cluster-wide tls is reported once, not once per node.
    const seen = new Set<string>();
    throw new ConfigError(issues.filter((i) => !seen.has(i.field + i.message) && seen.add(i.field + i.message)));
  }
  return resolved;
}
