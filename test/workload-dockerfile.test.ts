/**
 * deploy/workload.Dockerfile, checked without Docker: its steps (FROM, WORKDIR, ENV, COPY in order,
 * RUN) are replayed in empty directories, honouring the build context's ignore file; every RUN
 * must succeed, and the runtime stage, holding only what it copied, must run the CLI.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, composeConfig } from './support/compose.js';

describe('deploy/workload.Dockerfile', () => {
  let dir = '';
  afterAll(async () => {
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('builds: every step replayed in order in empty directories succeeds, and the image runs the CLI', { timeout: 300_000 }, async () => {
    const ignored = dockerignore('deploy/workload.Dockerfile.dockerignore');
    // The classic builder reads the context's .dockerignore instead: the same list.
    expect(dockerignore('.dockerignore')).toEqual(ignored);
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist']));

    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mxo-dockerfile-'));
    const stages = new Map<string, string>();
    let stage = '';
    let workdir = '/';
    let env: Record<string, string> = {};
    let entrypoint: string[] = [];
    let cmd: string[] = [];
    const runs: string[] = [];
    for (const { op, args } of dockerfileSteps(readFileSync(path.join(ROOT, 'deploy/workload.Dockerfile'), 'utf8'))) {
      const inStage = (p: string) => path.join(stage, path.posix.resolve(workdir, p));
      if (op === 'FROM') {
        stage = path.join(dir, `stage-${stages.size}`);
        await fs.mkdir(stage);
        stages.set(/\sAS\s+(\S+)/i.exec(args)?.[1] ?? String(stages.size), stage);
        [workdir, env] = ['/', {}];
      } else if (op === 'WORKDIR') {
        workdir = path.posix.resolve(workdir, args);
        await fs.mkdir(inStage('.'), { recursive: true });
      } else if (op === 'ENV') {
        const [key, ...value] = args.split('=');
        env[key!.trim()] = value.join('=').trim();
      } else if (op === 'COPY') {
        const words = args.split(/\s+/);
        const from = words[0]!.startsWith('--from=') ? stages.get(words.shift()!.slice('--from='.length)) : undefined;
        if (words[0]!.startsWith('--from=')) throw new Error(`unknown stage in COPY ${args}`);
        const dest = words.pop()!;
        for (const src of words) {
          const source = from ? path.join(from, src) : path.join(ROOT, src);
          expect(existsSync(source), `COPY ${args}: ${src} exists`).toBe(true);
          const target = dest.endsWith('/') || words.length > 1 ? path.join(inStage(dest), path.basename(src)) : inStage(dest);
          await fs.mkdir(path.dirname(target), { recursive: true });
          await fs.cp(source, target, {
            recursive: true,
            verbatimSymlinks: true,
            // The build context never holds what the ignore file lists.
            filter: (p) =>
              from !== undefined || !ignored.some((i) => path.relative(ROOT, p) === i || path.relative(ROOT, p).startsWith(`${i}/`)),
          });
        }
      } else if (op === 'RUN') {
        runs.push(args);
        // npm uses its cache where it can (CI's own `npm ci` fills it) and the registry otherwise.
        const result = spawnSync('sh', ['-c', args], {
          cwd: inStage('.'),
          encoding: 'utf8',
          env: { ...process.env, ...env, npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' },
        });
        expect(result.status, `RUN ${args}\n${result.stdout}\n${result.stderr}`).toBe(0);
      } else if (op === 'ENTRYPOINT') {
        entrypoint = JSON.parse(args);
      } else if (op === 'CMD') {
        cmd = JSON.parse(args);
      }
    }
    expect(runs.some((r) => /\bnpm ci\b/.test(r))).toBe(true);
    expect(cmd).toEqual(composeConfig().services.workload!.command);
    // The runtime stage holds only what it copied: production dependencies, dist, sql.
    const [bin, ...rest] = entrypoint;
    const help = spawnSync(bin!, [...rest, '--help'], {
      cwd: path.join(stage, workdir),
      encoding: 'utf8',
      env: { ...process.env, ...env },
    });
    expect(help.status, `${help.stdout}\n${help.stderr}`).toBe(0);
    expect(help.stdout).toContain('mxo-data <command>');
    expect(existsSync(path.join(stage, workdir, 'node_modules/typescript'))).toBe(false);
    expect(existsSync(path.join(stage, workdir, 'sql/shard/001_shard.sql'))).toBe(true);
  });
});

/** A Dockerfile's instructions in order (comments dropped, `\\` continuations joined). */
function dockerfileSteps(text: string): Array<{ op: string; args: string }> {
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  return lines
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [op, ...args] = l.split(/\s+/);
      return { op: op!.toUpperCase(), args: args.join(' ') };
    });
}

/** The paths a .dockerignore file lists. */
function dockerignore(file: string): string[] {
  return readFileSync(path.join(ROOT, file), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .sort();
}
