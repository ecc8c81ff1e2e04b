import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { NodeAddress } from '../config/node-address.js';
import { describeNode } from '../config/node-address.js';
import { MxoError } from '../errors.js';
import { withClientProcess } from './client-process.js';

/** A dump under way: `snapshotTaken` resolves once its consistent snapshot has begun. */
export interface RunningDump {
  snapshotTaken: Promise<void>;
  done: Promise<void>;
}

/**
 * Starts `mariadb-dump --single-transaction` of one database into a gzipped file. The dump
 * writes `CREATE DATABASE` only after `START TRANSACTION WITH CONSISTENT SNAPSHOT`, so seeing it
 * in the stream tells the caller the snapshot is fixed (and a held cut may be released).
 * A failed dump leaves no file.
 */
export function startDump(node: NodeAddress, file: string, command: string): RunningDump {
  let seen: () => void = () => {};
  let failed: (error: unknown) => void = () => {};
  const snapshotTaken = new Promise<void>((resolve, reject) => {
    seen = resolve;
    failed = reject;
  });
  snapshotTaken.catch(() => {});
  let tail = '';
  let found = false;
  const watch = new Transform({
    transform(chunk: Buffer, _enc, next) {
      if (!found) {
        // Searched before trimming: a large first chunk holds the statement near its start.
        const text = tail + chunk.toString('latin1');
        if (text.includes('CREATE DATABASE')) {
          found = true;
          seen();
        }
        tail = text.slice(-64); // enough to catch the statement split across two chunks
      }
      next(null, chunk);
    },
  });
  const args = ['--single-transaction', '--routines', '--triggers', '--events', '--databases', node.database];
  const done = (async () => {
    try {
      const { code, stderr } = await withClientProcess(node, command, args, async (child) => {
        child.stdin!.end();
        await pipeline(child.stdout!, watch, createGzip(), createWriteStream(file, { mode: 0o600 }));
      });
      if (code !== 0) throw new MxoError('BACKUP_FAILED', `${command} for ${describeNode(node)} exited ${code}: ${stderr}`);
      if (!found) throw new MxoError('BACKUP_FAILED', `${command} for ${describeNode(node)} wrote no database`);
    } catch (error) {
      await rm(file, { force: true });
      const wrapped =
        error instanceof MxoError
          ? error
          : new MxoError('BACKUP_FAILED', `backup of ${describeNode(node)} failed: ${(error as Error).message}`, { cause: error });
      failed(wrapped);
      throw wrapped;
    }
  })();
  done.catch(() => {});
  return { snapshotTaken, done };
}
