import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHILD = fileURLToPath(new URL('./support/hardening-metrics-child.ts', import.meta.url));

let child: ChildProcess;
let port = 0;
let exited: string | undefined;

/** Sends raw bytes and returns the status line of the answer ('' if the server closed without one). */
function raw(payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      data += chunk;
      if (data.includes('\r\n')) socket.destroy();
    });
    socket.on('close', () => resolve(data.split('\r\n')[0] ?? ''));
    socket.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNRESET' ? resolve(data.split('\r\n')[0] ?? '') : reject(error),
    );
    socket.write(payload);
  });
}

beforeAll(async () => {
  child = spawn(process.execPath, ['--import', 'tsx', CHILD], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.on('exit', (code, signal) => (exited = `exit ${code ?? signal}: ${stderr}`));
  port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    child.once('exit', () => reject(new Error(`metrics child ended before listening: ${stderr}`)));
  });
}, 30_000);

afterAll(async () => {
  if (exited === undefined) {
    const done = new Promise((resolve) => child.once('exit', resolve));
    child.stdin!.end();
    await done;
  }
});

describe('metrics HTTP endpoint under hostile requests', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['protocol-relative target with a broken host', 'GET //[ HTTP/1.1\r\nHost: x\r\n\r\n', / 40[04] /],
    ['authority-ish target', 'GET //user@[::1 HTTP/1.1\r\nHost: x\r\n\r\n', / 40[04] /],
    ['absolute-form target', 'GET http://[ HTTP/1.1\r\nHost: x\r\n\r\n', / 40[04] /],
    ['asterisk target', 'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n', / 400 /],
    ['unknown path', 'GET /nope HTTP/1.1\r\nHost: x\r\n\r\n', / 404 /],
    ['percent garbage in the path', 'GET /%zz%00/.. HTTP/1.1\r\nHost: x\r\n\r\n', / 404 /],
    ['POST to metrics', 'POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n', / 405 /],
    ['DELETE to metrics', 'DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n', / 405 /],
    ['made-up method', 'BREW /metrics HTTP/1.1\r\nHost: x\r\n\r\n', / 400 /],
    ['lowercase method', 'get /metrics HTTP/1.1\r\nHost: x\r\n\r\n', / 400 /],
    ['oversized header', `GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(200_000)}\r\n\r\n`, / 431 /],
    ['garbage request line', '\u0001\u0002\u0003 nonsense\r\n\r\n', / 400 /],
    ['query string on metrics', 'GET /metrics?x=%ff HTTP/1.1\r\nHost: x\r\n\r\n', / 200 /],
  ];

  it.each(cases)('%s gets a status code and the process survives', async (_name, payload, status) => {
    const line = await raw(payload);
    expect(exited).toBeUndefined();
    expect(line).toMatch(status);
    // The server still answers a normal scrape afterwards.
    expect(await raw('GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toMatch(/ 200 /);
  });

  it('survives a burst of random request targets', async () => {
    const alphabet = '/[]@:%?#\\{}|^`"<> abc\u00ff.';
    for (let i = 0; i < 200; i++) {
      let target = '/';
      for (let j = 0; j < 1 + (i % 12); j++) target += alphabet[(i * 7 + j * 13) % alphabet.length];
      const line = await raw(`GET ${target.replace(/ /g, '')} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect(line).toMatch(/^HTTP\/1\.1 (200|400|404) /);
    }
    expect(exited).toBeUndefined();
  });
});
