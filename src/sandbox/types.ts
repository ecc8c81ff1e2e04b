/**
 * Public types of the sandbox: a throwaway cluster of real MariaDB servers for tests, demos and
 * the CLI (`mxo-data sandbox start|stop`).
 */

export interface SandboxOptions {
  /** Number of shards (default 2). Shard names are greek letters: alpha, beta, gamma, delta, ... */
  shards?: number;
  /** Read replicas per shard (default 1). */
  replicasPerShard?: number;
  /** Read replicas of the global primary (default 0). */
  globalReplicas?: number;
  /** Districts per shard (default 3): alpha owns 1,2,3; beta 4,5,6; ... */
  districtsPerShard?: number;
  /**
   * The districts of each shard, in shard order (one list per shard, none twice), instead of
   * `districtsPerShard`: e.g. the shipped shards.config.ts's split of the client's districts.
   */
  districts?: number[][];
  /**
   * Directory the sandbox owns (node data dirs, logs, cluster.json, pids.json). Default: a fresh
   * `mkdtemp` under `os.tmpdir()`, which `stop()` deletes (unless env MXO_SANDBOX_KEEP is set).
   * A directory you pass is kept; node sub-directories left in it by an earlier run are replaced.
   */
  dir?: string;
  /** Default: `process.env.MXO_SANDBOX === 'testcontainers' ? 'testcontainers' : 'local'`. */
  provider?: 'local' | 'testcontainers';
  /**
   * Local provider: SIGKILL the servers when this process exits or is ended by SIGINT/SIGTERM/SIGHUP
   * (default true). Set false for a CLI `sandbox start` that leaves the servers running for a later
   * `stopSandboxDir(dir)`.
   */
  killOnExit?: boolean;
}

export interface SandboxNode {
  /** 'global-primary' | 'global-replica-1' | 'alpha-primary' | 'alpha-replica-1' | ... */
  name: string;
  role: 'primary' | 'replica';
  /** 'global' or the shard name. */
  shard: string;
  host: string;
  port: number;
  /** OS process id (local provider); undefined for containers. Changes on restart(). */
  pid?: number;
  /** mysql://root@HOST:PORT/mxo_global or .../mxo_shard (root, no password). */
  url: string;
}

export interface SandboxClusterConfig {
  global: { primary: string; replicas: string[] };
  shards: Array<{ name: string; primary: string; replicas: string[]; districts: number[] }>;
}

export interface Sandbox {
  dir: string;
  config: SandboxClusterConfig;
  /** `<dir>/cluster.json`, holding `config`. */
  configPath: string;
  nodes: SandboxNode[];
  /** The node with that name; throws when there is none. */
  node(name: string): SandboxNode;
  /** Send `signal` (default SIGKILL) to one server and wait until it is gone. */
  kill(name: string, signal?: NodeJS.Signals): Promise<void>;
  /** Start the same data directory on the same port again; a replica resumes replication by itself. */
  restart(name: string): Promise<void>;
  /** Stop every server (SIGTERM, SIGKILL after a few seconds) and wait for exit. Idempotent. */
  stop(): Promise<void>;
}
