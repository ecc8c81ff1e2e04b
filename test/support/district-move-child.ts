/**
 * A district mover that dies mid-move, for the crash tests:
 *   node --import tsx test/support/district-move-child.ts '<plan JSON>'
 * Opens the cluster from the sandbox's config file (recovery sweep off), moves `district` to
 * `to`, and at `phase` of the move's two-phase commit appends a JSON line to `outFile` and sends
 * itself SIGKILL (or SIGSTOP: frozen). phase 'none' runs the move to its end (the parent may kill it at any moment).
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { openCluster } from '../../src/index.js';

interface Plan {
  configPath: string;
  outFile: string;
  phase: 'prepared' | 'deciding' | 'decided' | 'committed_branch' | 'none';
  district: number;
  to: string;
  /** What the child does to itself at `phase` (default kill). */
  action?: 'kill' | 'stop';
}

const plan = JSON.parse(process.argv[2]!) as Plan;
const emit = (line: Record<string, unknown>) => appendFileSync(plan.outFile, `${JSON.stringify(line)}\n`);
const config = { ...JSON.parse(readFileSync(plan.configPath, 'utf8')), recovery: { intervalMs: 0, gracePeriodMs: 60_000 } };
const db = await openCluster(config, {
  hooks: {
    onPhase: (phase, info) => {
      if (phase !== plan.phase || info.operation !== 'district_move') return;
      emit({ event: 'phase', phase, gtrid: info.gtrid, key: info.key });
      process.kill(process.pid, plan.action === 'stop' ? 'SIGSTOP' : 'SIGKILL');
    },
  },
});
emit({ event: 'ready' });
try {
  emit({ event: 'result', detail: await db.admin.moveDistrict(plan.district, plan.to) });
} catch (error) {
  emit({ event: 'error', detail: { code: (error as { code?: string }).code, message: (error as Error).message } });
}
await db.close();
