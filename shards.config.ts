// The cluster this process talks to: one global primary, and shards that each own districts.
// This example has the sandbox's shape (global + 2 shards, each a primary and one replica).
// Passwords never go here: a URL without one reads MXO_DB_PASSWORD, and an object node can
// name its own variable with `passwordEnv`.
import { defineCluster } from 'mxo-data';

export default defineCluster({
  global: { primary: 'mysql://mxo@127.0.0.1:3307/mxo_global', replicas: [] },
  shards: [
    {
      name: 'alpha',
      primary: 'mysql://mxo@127.0.0.1:3308/mxo_shard',
      replicas: ['mysql://mxo@127.0.0.1:3309/mxo_shard'],
      districts: [1, 2, 3],
    },
    {
      name: 'beta',
      primary: { host: '127.0.0.1', port: 3310, user: 'mxo', passwordEnv: 'MXO_BETA_PASSWORD', database: 'mxo_shard' },
      replicas: ['mysql://mxo@127.0.0.1:3311/mxo_shard'],
      districts: [4, 5, 6],
    },
  ],
  pool: { max: 10, acquireTimeoutMs: 5000 },
  replicas: { maxLagMs: 2000 },
  recovery: { intervalMs: 30_000, gracePeriodMs: 60_000 },
});
