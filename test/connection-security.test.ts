/**
 * What every connection the library opens does on the wire (issue 23, H2), without a database:
 * a server that asks for the password in cleartext (mysql_clear_password, at the handshake or by
 * an authentication switch) gets nothing, and TLS settings in the config reach the driver.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import mysql from 'mysql2/promise';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, resolveClusterConfig } from '../src/index.js';
import { connectionOptions } from '../src/pool/connection-options.js';

const require = createRequire(import.meta.url);
const Packets = require(path.join(path.dirname(require.resolve('mysql2')), 'lib/packets/index.js')) as {
  Handshake: new (args: Record<string, unknown>) => { toPacket(seq: number): { buffer: Buffer } };
};

const PASSWORD = 'rogue-wants-THIS-password-42';

/** One MySQL packet: 3-byte length, sequence id, payload. */
function frame(seq: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUIntLE(payload.length, 0, 3);
  header[3] = seq;
  return Buffer.concat([header, payload]);
}

/**
 * A rogue "MariaDB" that greets with mysql_native_password, then answers the client's first
 * packet with an authentication switch to mysql_clear_password; it records every byte received.
 */
async function rogueServer(): Promise<{ port: number; received: () => Buffer; close: () => void }> {
  const chunks: Buffer[] = [];
  const server = net.createServer((socket) => {
    let packets = 0;
    const greeting = new Packets.Handshake({
      protocolVersion: 10,
      serverVersion: '5.5.5-10.11.19-MariaDB',
      connectionId: 7,
      statusFlags: 2,
      characterSet: 45,
      // PROTOCOL_41, SECURE_CONNECTION, PLUGIN_AUTH and the rest, without SSL and COMPRESS.
      capabilityFlags: 0x000ff7df,
      authPluginData1: Buffer.alloc(8, 0x61),
      authPluginData2: Buffer.alloc(12, 0x62),
    }).toPacket(0).buffer;
    socket.write(frame(0, greeting.subarray(4)));
    socket.on('data', (data) => {
      chunks.push(data);
      if (packets++ === 0) {
        const name = Buffer.from('mysql_clear_password\0', 'latin1');
        socket.write(frame(2, Buffer.concat([Buffer.from([0xfe]), name, Buffer.alloc(20, 0x63), Buffer.from([0])])));
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    received: () => Buffer.concat(chunks),
    close: () => server.close(),
  };
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

const address = (port: number) => ({ host: '127.0.0.1', port, user: 'mxo_app', password: PASSWORD, database: 'mxo_shard' });

describe('cleartext authentication', () => {
  it('a server switching to mysql_clear_password never receives the password', async () => {
    const rogue = await rogueServer();
    cleanups.push(rogue.close);
    const error = await mysql.createConnection({ ...connectionOptions(address(rogue.port)), connectTimeout: 5_000 }).then(
      (c) => {
        c.destroy();
        return undefined;
      },
      (e: Error) => e,
    );
    expect(error?.message).toMatch(/cleartext/);
    expect(rogue.received().includes(Buffer.from(PASSWORD))).toBe(false);
  });

  it('(the probe works) a driver allowed cleartext does send it', async () => {
    const rogue = await rogueServer();
    cleanups.push(rogue.close);
    const { authPlugins: _refused, ...allowed } = connectionOptions(address(rogue.port));
    await mysql
      .createConnection({ ...allowed, enableCleartextPlugin: true, connectTimeout: 2_000 })
      .then((c) => c.destroy())
      .catch(() => {});
    await new Promise((r) => setTimeout(r, 200));
    expect(rogue.received().includes(Buffer.from(PASSWORD))).toBe(true);
  });
});

describe('TLS settings', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mxo-tls-'));
  const ca = path.join(dir, 'ca.pem');
  writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  const base = {
    global: { primary: 'mysql://mxo_app@db-global:3306/mxo_global' },
    shards: [
      { name: 'alpha', primary: 'mysql://mxo_app@db-alpha:3306/mxo_shard', districts: [1] },
      {
        name: 'beta',
        primary: { host: 'db-beta', user: 'mxo_app', database: 'mxo_shard', tls: false as const },
        districts: [2],
      },
    ],
  };

  it('the cluster-wide tls reaches every node (files read), a node may opt out, and the driver gets verified TLS', () => {
    const config = resolveClusterConfig({ ...base, tls: { caFile: ca } }, {});
    expect(config.global.primary.tls).toEqual({ ca: expect.stringContaining('BEGIN CERTIFICATE'), rejectUnauthorized: true, verifyIdentity: true });
    expect(config.shards[0]!.primary.tls?.ca).toContain('BEGIN CERTIFICATE');
    expect(config.shards[1]!.primary.tls).toBeUndefined();
    const ssl = connectionOptions(config.global.primary).ssl as Record<string, unknown>;
    expect(ssl).toMatchObject({ ca: expect.stringContaining('BEGIN'), rejectUnauthorized: true, verifyIdentity: true, minVersion: 'TLSv1.2' });
    expect(connectionOptions(config.shards[1]!.primary).ssl).toBeUndefined();
    // A key never shows in logs.
    const withKey = resolveClusterConfig({ ...base, tls: { caFile: ca, cert: 'CERT', key: 'SECRET-KEY' } }, {});
    expect(JSON.stringify(withKey.global.primary)).not.toContain('SECRET-KEY');
  });

  it('a TLS file that cannot be read, or a certificate without its key, is a ConfigError naming the field', () => {
    const error = (() => {
      try {
        resolveClusterConfig({ ...base, tls: { caFile: path.join(dir, 'missing.pem') } }, {});
      } catch (e) {
        return e;
      }
    })() as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.fields).toEqual(['tls.caFile']);
    expect(() => resolveClusterConfig({ ...base, tls: { cert: 'CERT' } }, {})).toThrow(ConfigError);
  });

  it('without tls no TLS is asked for', () => {
    expect(connectionOptions(resolveClusterConfig(base, {}).global.primary).ssl).toBeUndefined();
  });
});
