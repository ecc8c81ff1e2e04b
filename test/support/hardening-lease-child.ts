/**
 * Child process for test/hardening-lease.test.ts: opens the cluster from the config file argv[2],
 * takes the lease named argv[3], prints "held" and then waits until it is killed.
 */
import { readFileSync } from 'node:fs';
import { openCluster } from '../../src/index.js';
import { tryLease } from '../../src/ops/lease.js';

const db = await openCluster(JSON.parse(readFileSync(process.argv[2]!, 'utf8')));
const globalPrimary = db.pools().find((p) => p.identity.name === 'global-primary')!;
const result = await tryLease(globalPrimary, process.argv[3]!, async () => {
  process.stdout.write('held\n');
  await new Promise(() => {}); // until killed
});
process.stdout.write(result.acquired ? 'done\n' : 'busy\n');
