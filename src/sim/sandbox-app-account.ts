import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { openCluster } from '../cluster.js';
import type { ClusterConfigInput } from '../config/schema.js';
import { USER_SPECS } from '../ops/user-grants.js';
import type { Sandbox } from '../sandbox/index.js';

/**
 * Prepares a fresh sandbox the way an operator prepares a cluster: migrates it as root, creates
 * the five least-privilege accounts with random passwords, and returns the path of a config that
 * logs in as `mxo_app`, its password named by `MXO_APP_PASSWORD` (set in this process's
 * environment, inherited by the worker processes; written nowhere else). The living cluster then
 * runs as a district server would, with no more rights than the application account.
 */
export async function prepareSandboxAsApp(sandbox: Sandbox): Promise<string> {
  const passwords = Object.fromEntries(USER_SPECS.map((s) => [s.passwordEnv, randomBytes(18).toString('base64url')]));
  const admin = await openCluster(sandbox.configPath);
  try {
    await admin.migrate();
    await admin.createUsers({ env: passwords });
    // The accounts reach the replicas by replication: wait, or mxo_app is refused there.
    await admin.waitForReplicas(30_000);
  } finally {
    await admin.close();
  }
  process.env.MXO_APP_PASSWORD = passwords.MXO_APP_PASSWORD;
  const config = asAccount(sandbox.config, 'mxo_app', 'MXO_APP_PASSWORD');
  const file = path.join(sandbox.dir, 'cluster-mxo_app.json');
  await writeFile(file, JSON.stringify(config, null, 2));
  return file;
}

/**
 * The config with every node (a `mysql://root@host:port/db` URL) logging in as `user`, the
 * password named by `passwordEnv`; every other setting kept.
 */
export function asAccount(config: ClusterConfigInput, user: string, passwordEnv: string): ClusterConfigInput {
  const node = (url: unknown) => {
    const u = new URL(String(url));
    return { host: u.hostname, port: Number(u.port), user, passwordEnv, database: u.pathname.slice(1) };
  };
  return {
    ...config,
    global: { ...config.global, primary: node(config.global.primary), replicas: (config.global.replicas ?? []).map(node) },
    shards: config.shards.map((s) => ({ ...s, primary: node(s.primary), replicas: (s.replicas ?? []).map(node) })),
  };
}
