/**
 * The MariaDB server binaries and the per-machine template data directory every sandbox server
 * is copied from (mariadb-install-db runs once per machine and version, then each server starts
 * from a copy in about 0.15 s).
 */
import { execFile } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import { constants as fsConstants, existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { SandboxError, verbose } from './topology.js';

const execFileP = promisify(execFile);
export const TEMPLATE_MARKER = '.mxo-template-ok';

const SEARCH_DIRS = [
  '/usr/sbin',
  '/usr/local/sbin',
  '/usr/bin',
  '/usr/local/bin',
  '/usr/local/mysql/bin',
  '/opt/homebrew/bin',
  '/opt/homebrew/sbin',
];

function findBinary(envVar: string, names: string[]): string {
  const fromEnv = process.env[envVar];
  if (fromEnv) return fromEnv;
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...SEARCH_DIRS];
  for (const name of names) {
    for (const d of dirs) {
      const p = path.join(d, name);
      if (existsSync(p)) return p;
    }
  }
  throw new SandboxError(
    `cannot find ${names.join(' or ')} (install MariaDB server 10.11, set ${envVar}, or use MXO_SANDBOX=testcontainers)`,
  );
}

export interface Binaries {
  mariadbd: string;
  installDb: string;
  version: string;
}

let binariesPromise: Promise<Binaries> | undefined;

export function binaries(): Promise<Binaries> {
  binariesPromise ??= (async () => {
    const mariadbd = findBinary('MXO_MARIADBD', ['mariadbd', 'mysqld']);
    const installDb = findBinary('MXO_MARIADB_INSTALL_DB', ['mariadb-install-db', 'mysql_install_db']);
    const { stdout } = await execFileP(mariadbd, ['--version']);
    const m = /Ver\s+(\S+)/.exec(stdout);
    const version = (m?.[1] ?? createHash('sha1').update(stdout).digest('hex').slice(0, 12)).replace(/[^A-Za-z0-9._-]/g, '_');
    return { mariadbd, installDb, version };
  })();
  binariesPromise.catch(() => {
    binariesPromise = undefined;
  });
  return binariesPromise;
}

const templatePromises = new Map<string, Promise<string>>();

/**
 * `os.tmpdir()/mxo-sandbox-template-<version>`: built once per machine into a temp directory and
 * renamed into place atomically, so concurrent test workers never see a half-built template.
 */
export async function ensureTemplate(b: Binaries): Promise<string> {
  const final = path.join(os.tmpdir(), `mxo-sandbox-template-${b.version}`);
  let p = templatePromises.get(final);
  if (!p) {
    p = buildTemplate(b, final);
    templatePromises.set(final, p);
    p.catch(() => templatePromises.delete(final));
  }
  return p;
}

async function buildTemplate(b: Binaries, final: string): Promise<string> {
  if (existsSync(path.join(final, TEMPLATE_MARKER))) return final;
  const t0 = Date.now();
  const tmp = `${final}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await fs.mkdir(tmp, { recursive: true });
    await fs.mkdir(`${tmp}.scratch`, { recursive: true });
    const args = [
      '--no-defaults',
      '--auth-root-authentication-method=normal',
      `--datadir=${tmp}`,
      '--skip-test-db',
      `--tmpdir=${tmp}.scratch`, // not /tmp: see serverArgs
      '--innodb-log-file-size=8M',
      '--innodb-buffer-pool-size=32M',
    ];
    try {
      await execFileP(b.installDb, args, { maxBuffer: 16 * 1024 * 1024 });
    } catch (err) {
      const e = err as { stderr?: string; stdout?: string; message: string };
      throw new SandboxError(`${b.installDb} failed: ${e.message}\n${tail(`${e.stdout ?? ''}\n${e.stderr ?? ''}`, 20)}`, { cause: err });
    }
    await fs.writeFile(path.join(tmp, TEMPLATE_MARKER), `${b.version}\n`);
    try {
      await fs.rename(tmp, final);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      // Another worker won the race; its template is complete (rename is atomic).
    }
    verbose(`template ${final} ready in ${Date.now() - t0} ms`);
  } finally {
    await fs.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    await fs.rm(`${tmp}.scratch`, { recursive: true, force: true }).catch(() => undefined);
  }
  if (!existsSync(path.join(final, TEMPLATE_MARKER))) {
    throw new SandboxError(`template ${final} exists but is incomplete; remove it and retry`);
  }
  return final;
}

export function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

export async function fileTail(file: string, lines = 20): Promise<string> {
  try {
    const fh = await fs.open(file, 'r');
    try {
      const { size } = await fh.stat();
      const len = Math.min(size, 16 * 1024);
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, size - len);
      const text = buf.toString('utf8');
      // A crash report ends in a stack trace and resource limits; the reason is in the [ERROR]
      // and assertion lines above it, so those come first.
      const reasons = text.split('\n').filter((l) => /\[ERROR\]|Assertion|Failing assertion|InnoDB: .*(corrupt|fatal)/i.test(l));
      const last = tail(text, lines);
      return reasons.length > 0 ? `${tail(reasons.join('\n'), lines)}\n...\n${last}` : last;
    } finally {
      await fh.close();
    }
  } catch {
    return '(no error log)';
  }
}

/** Copy a data directory: coreutils `cp -a` on Linux (about 1.5x faster here), else fs.cp. */
export async function copyDir(src: string, dst: string): Promise<void> {
  if (process.platform === 'linux') {
    try {
      await execFileP('cp', ['-a', '--reflink=auto', src, dst]);
      return;
    } catch {
      await fs.rm(dst, { recursive: true, force: true });
    }
  }
  await fs.cp(src, dst, { recursive: true, mode: fsConstants.COPYFILE_FICLONE });
}
