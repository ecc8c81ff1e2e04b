import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { NodeAddress } from '../config/node-address.js';

/**
 * Runs a MariaDB client program (mariadb-dump, mariadb) against `node` with the credentials in
 * a private option file (mode 0600, deleted after): a password on a command line is visible to
 * every user in `ps`. `use` gets the child and resolves when its work is done; the exit code and
 * stderr come back so the caller can name the failure.
 */
export async function withClientProcess<T>(
  node: NodeAddress,
  command: string,
  args: string[],
  use: (child: ChildProcess) => Promise<T>,
): Promise<{ value: T; code: number; stderr: string }> {
  const secrets = await mkdtemp(path.join(os.tmpdir(), 'mxo-client-'));
  const optionFile = path.join(secrets, 'client.cnf');
  try {
    const lines = ['[client]', `host=${optionValue(node.host)}`, `port=${node.port}`, `user=${optionValue(node.user)}`];
    if (node.password !== undefined) lines.push(`password=${optionValue(node.password)}`);
    await writeFile(optionFile, `${lines.join('\n')}\n`, { mode: 0o600 });
    await chmod(optionFile, 0o600);
    const child = spawn(command, [`--defaults-extra-file=${optionFile}`, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => resolve(code ?? 1));
    });
    exited.catch(() => {});
    let value: T;
    try {
      value = await use(child);
    } catch (error) {
      child.kill();
      await exited.catch(() => {});
      throw error;
    }
    const code = await exited;
    return { value, code, stderr: stderr.trim() };
  } finally {
    await rm(secrets, { recursive: true, force: true });
  }
}

/**
 * A value for an option file, quoted and escaped: unquoted, a newline in a password would start a
 * new option line (`\nhost=elsewhere`), and `#` would start a comment.
 */
export function optionValue(value: string): string {
  const escaped = value.replace(
    /[\\"\n\r\t\b]/g,
    (c) => ({ '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b' })[c]!,
  );
  return `"${escaped}"`;
}
