import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../src/index.js';
import { withClientProcess } from '../src/backup/client-process.js';
import mysql from 'mysql2/promise';

let sandbox: Sandbox;

// A newline would start a new option line (here: a port nothing listens on), '#' a comment.
const PASSWORDS = ['pa#ss"wo\\rd', 'new\nport=1\nline', "tab\tand\rcr and 'quote' and ;semicolon", ' spaced '];

beforeAll(async () => {
  sandbox = await startSandbox({ shards: 1, replicasPerShard: 0 });
}, 120_000);
afterAll(async () => sandbox?.stop());

describe('client option files (backup, restore)', () => {
  it.each(PASSWORDS.map((p, i) => [JSON.stringify(p), p, i] as const))(
    'a password like %s reaches the server unchanged',
    async (_shown, password, i) => {
      const node = sandbox.node('global-primary');
      const root = await mysql.createConnection({ host: node.host, port: node.port, user: 'root' });
      try {
        await root.query(`CREATE USER IF NOT EXISTS 'optfile${i}'@'%' IDENTIFIED BY ?`, [password]);
      } finally {
        await root.end();
      }
      const address = { host: node.host, port: node.port, user: `optfile${i}`, password, database: 'mysql' };
      const { value, code, stderr } = await withClientProcess(
        address,
        'mariadb',
        ['--batch', '--skip-column-names', '-e', 'SELECT CURRENT_USER()'],
        async (child) => {
          let out = '';
          child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
          await new Promise((resolve) => child.stdout!.once('close', resolve));
          return out.trim();
        },
      );
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(value).toBe(`optfile${i}@%`);
    },
  );
});
