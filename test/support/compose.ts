/** docker-compose.yml as `docker-compose config` resolves it (no Docker engine needed), for tests. */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

export const ROOT = path.join(import.meta.dirname, '..', '..');

/** The environment compose needs (passwords have no defaults); tests compare against these values. */
export const COMPOSE_ENV = {
  MXO_DB_PASSWORD: 'compose-test-pw',
  MXO_APP_PASSWORD: 'compose-app-password',
  MXO_MIGRATE_PASSWORD: 'compose-migrate-password',
  MXO_BACKUP_PASSWORD: 'compose-backup-password',
  MXO_MONITOR_PASSWORD: 'compose-monitor-password',
  MXO_REPL_PASSWORD: 'compose-repl-pw',
  GRAFANA_ADMIN_PASSWORD: 'compose-grafana-pw',
};

export interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  ports?: unknown[];
}

/** Runs a tool with compose's environment; throws (naming the package to install) unless it exits 0. */
export function run(cmd: string, args: string[], options: { input?: string; cwd?: string; env?: Record<string, string> } = {}): string {
  const result = spawnSync(cmd, args, {
    cwd: options.cwd ?? ROOT,
    input: options.input,
    encoding: 'utf8',
    env: { ...process.env, ...COMPOSE_ENV, ...options.env },
  });
  if (result.error) {
    const pkg = cmd === 'docker-compose' ? 'docker-compose' : cmd === 'promtool' ? 'prometheus' : cmd;
    throw new Error(
      `${cmd} is required for this test and could not be run (${result.error.message}); install it with: apt-get install -y ${pkg}`,
    );
  }
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** `docker-compose config` output as an object (python3-yaml comes with Debian's docker-compose). */
export function composeConfig(env: Record<string, string> = {}): { services: Record<string, Service>; volumes?: Record<string, unknown> } {
  const yaml = run('docker-compose', ['-f', 'docker-compose.yml', 'config'], { env });
  const json = run('python3', ['-c', 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'], { input: yaml });
  return JSON.parse(json);
}
