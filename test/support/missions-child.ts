/**
 * Drives missions.complete for a list of characters while the test kills the shard primary:
 *   node --import tsx test/support/missions-child.ts '<{ configPath, outFile, missionId, characterIds }>'
 * Each character is retried until complete answers (a retry after a lost answer must not pay
 * twice); every answer and error is appended to `outFile` as a JSON line.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { openCluster } from '../../src/index.js';

const plan = JSON.parse(process.argv[2]!) as { configPath: string; outFile: string; missionId: number; characterIds: number[] };
const emit = (line: Record<string, unknown>) => appendFileSync(plan.outFile, `${JSON.stringify(line)}\n`);

const config = {
  ...JSON.parse(readFileSync(plan.configPath, 'utf8')),
  recovery: { intervalMs: 0, gracePeriodMs: 60_000 },
  pool: { downBackoffMs: 100, connectTimeoutMs: 1_000, acquireTimeoutMs: 2_000 },
};
const db = await openCluster(config);
emit({ event: 'ready' });
for (const characterId of plan.characterIds) {
  for (let attempt = 0; ; attempt++) {
    try {
      const r = await db.missions.complete(characterId, plan.missionId);
      emit({ event: 'result', characterId, alreadyCompleted: r.alreadyCompleted, attempt });
      break;
    } catch (error) {
      emit({ event: 'error', characterId, code: (error as { code?: string }).code, attempt });
      if (attempt >= 300) break;
      await new Promise((r) => setTimeout(r, 50)); // the shard is restarting
    }
  }
}
emit({ event: 'done' });
await db.close();
