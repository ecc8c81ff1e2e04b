/**
 * A coordinating process that dies (or freezes) mid-commit, for the crash tests:
 *   node --import tsx test/support/twopc-child.ts '<ChildPlan JSON>'
 * It opens the cluster from the sandbox's config file (recovery sweep off), runs one operation,
 * and at the planned phase appends a JSON line with the transaction id to `outFile`, then sends
 * itself SIGKILL (or SIGSTOP). Lines are written with appendFileSync so they are on disk before
 * the signal.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { openCluster } from '../../src/index.js';
import type { ChildPlan } from './twopc-world.js';

const plan = JSON.parse(process.argv[2]!) as ChildPlan;
const emit = (line: Record<string, unknown>) => appendFileSync(plan.outFile, `${JSON.stringify(line)}\n`);

const config = { ...JSON.parse(readFileSync(plan.configPath, 'utf8')), recovery: { intervalMs: 0, gracePeriodMs: 60_000 } };
const db = await openCluster(config, {
  hooks: {
    onPhase: (phase, info) => {
      if (phase !== plan.phase) return;
      emit({ event: 'phase', phase, gtrid: info.gtrid, key: info.key });
      process.kill(process.pid, plan.action === 'kill' ? 'SIGKILL' : 'SIGSTOP');
    },
  },
});
emit({ event: 'ready' });
try {
  const result =
    plan.op.kind === 'trade'
      ? await db.trades.execute({ initiator: plan.op.initiator, recipient: plan.op.recipient })
      : await db.characters.moveToDistrict(plan.op.characterId, plan.op.districtId);
  emit({ event: 'result', detail: result });
} catch (error) {
  emit({ event: 'error', detail: { code: (error as { code?: string }).code, message: (error as Error).message } });
}
await db.close();
