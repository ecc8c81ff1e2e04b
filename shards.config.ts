// The cluster this process talks to: one global primary, and shards that each own districts.
// This example has the sandbox's shape (global + 2 shards, each a primary and one replica).
// Passwords never go here: a URL without one reads MXO_DB_PASSWORD, and an object node can
// name its own variable with `passwordEnv`.
// Districts are numbered the client's way (Hardline Dreams' MxOLocations): 0 tutorial, 1 slums,
// 2 downtown, 3 international, 4-5 archives, 6 Ashencourt, 7 Datamine, 8 Sakura, 9 Sati,
// 0x0a Widowsmoor, 0x0b Yuki, 0x0c-0x11 the large/medium/small instances, 0x12 caves, 0x385 the
// loading area.
import { defineCluster } from 'mxo-data';

export default defineCluster({
  global: { primary: 'mysql://mxo@127.0.0.1:3307/mxo_global', replicas: [] },
  shards: [
    {
      name: 'alpha',
      primary: 'mysql://mxo@127.0.0.1:3308/mxo_shard',
      replicas: ['mysql://mxo@127.0.0.1:3309/mxo_shard'],
      districts: [0, 1, 2, 3, 7, 8, 9],
    },
    {
      name: 'beta',
      primary: { host: '127.0.0.1', port: 3310, user: 'mxo', passwordEnv: 'MXO_BETA_PASSWORD', database: 'mxo_shard' },
      replicas: ['mysql://mxo@127.0.0.1:3311/mxo_shard'],
      districts: [4, 5, 6, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x385],
    },
  ],
  pool: { max: 10, acquireTimeoutMs: 5000 },
  replicas: { maxLagMs: 2000 },
  recovery: { intervalMs: 30_000, gracePeriodMs: 60_000 },
});
