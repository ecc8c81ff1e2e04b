import { z } from 'zod';
import * as limits from '../shared/client-limits.js';
import { NameTakenError, NotFoundError } from '../../errors.js';
import { isDuplicateKey } from '../../pool/mysql-errors.js';
import { consistencyOf } from '../../routing/consistency.js';
import type { Consistency } from '../../routing/read-router.js';
import { GLOBAL } from '../../routing/topology.js';
import { parseInput, schemaFor } from '../../validate.js';
import type { RepoContext } from '../shared/context.js';
import { unfenced } from '../shared/write-options.js';
import { id as characterIdSchema } from '../shared/fields.js';

export const WORLD_PVP_TYPES = ['pve', 'pvp'] as const;
export const WORLD_STATUSES = ['offline', 'online', 'busy', 'full', 'locked'] as const;

/** A world as an operator registers it. */
export interface WorldInput {
  /** The client's world id (1..2^31-1), chosen by the operator. */
  worldId: number;
  /** 1-64 characters, unique. */
  name: string;
  pvpType?: (typeof WORLD_PVP_TYPES)[number];
}

/** What a world's servers report. */
export interface WorldReport {
  status: (typeof WORLD_STATUSES)[number];
  population?: number;
}

/** A district's client key and world file (null: not set). */
export interface DistrictFile {
  districtKey: string | null;
  worldFile: string | null;
}

/** A world in the registry. */
export interface WorldListing {
  worldId: number;
  name: string;
  pvpType: (typeof WORLD_PVP_TYPES)[number];
  status: (typeof WORLD_STATUSES)[number];
  population: number;
  /** When its servers last reported (the global server's clock); null before the first report. */
  lastReportAt: Date | null;
}

// The client's 16-bit world id and 20-byte world name (contract part four).
const worldId = limits.worldId;
const districtIdSchema = z.number().int().min(0).max(2_147_483_647);
const districtFileInput = schemaFor<DistrictFile>()(
  z.object({ districtKey: z.string().min(1).max(64).nullable(), worldFile: z.string().min(1).max(255).nullable() }).strict(),
);
const worldInput = schemaFor<WorldInput>()(
  z
    .object({
      worldId,
      name: limits.worldName,
      pvpType: z.enum(WORLD_PVP_TYPES).default('pve'),
    })
    .strict(),
);
const reportInput = schemaFor<WorldReport>()(
  z.object({ status: z.enum(WORLD_STATUSES), population: z.number().int().min(0).max(2_147_483_647).optional() }).strict(),
);

interface WorldRow {
  world_id: number;
  world_name: string;
  pvp_type: WorldListing['pvpType'];
  status: WorldListing['status'];
  population: number;
  last_report_at: Date | null;
}

/**
 * The world registry on global (table `worlds`): what the login server lists, kept current by
 * the worlds' own servers. Each character names its world (`characters.world_id` on its shard and
 * `character_directory.world_id` on global, set together).
 */
export class Worlds {
  constructor(private readonly ctx: RepoContext) {}

  /**
   * Registers a world (or renames it / changes its PvP type when the id exists).
   *
   * @example
   * await db.worlds.register({ worldId: 1, name: 'Recursion', pvpType: 'pvp' });
   */
  async register(input: WorldInput): Promise<WorldListing> {
    const w = parseInput(worldInput, input, 'world');
    try {
      await this.ctx.router.onGlobal('world_register', async (conn) => {
        // Not ON DUPLICATE KEY UPDATE: a clash on the name must be an error, not an update of another world.
        const header = await conn.exec('UPDATE worlds SET world_name = ?, pvp_type = ? WHERE world_id = ?', [w.name, w.pvpType, w.worldId]);
        if (header.affectedRows === 0)
          await conn.exec('INSERT INTO worlds (world_id, world_name, pvp_type) VALUES (?, ?, ?)', [w.worldId, w.name, w.pvpType]);
      });
    } catch (error) {
      if (isDuplicateKey(error, 'world_name')) throw new NameTakenError('name', w.name, { cause: error });
      throw error;
    }
    return this.get(w.worldId);
  }

  /**
   * A world's servers report its status and population (stamped with the database's clock).
   *
   * @example
   * await db.worlds.report(1, { status: 'online', population: 412 });
   */
  async report(id: number, report: WorldReport): Promise<void> {
    const wid = parseInput(worldId, id, 'world id');
    const r = parseInput(reportInput, report, 'world report');
    await this.ctx.router.onGlobal('world_report', async (conn) => {
      const header = await conn.exec(
        'UPDATE worlds SET status = ?, population = COALESCE(?, population), last_report_at = NOW(6) WHERE world_id = ?',
        [r.status, r.population ?? null, wid],
      );
      if (header.affectedRows !== 1) throw new NotFoundError('world', wid);
    });
  }

  /**
   * Every registered world, by id.
   *
   * @example
   * const open = (await db.worlds.list()).filter((w) => w.status === 'online');
   */
  async list(options: { consistency?: Consistency } = {}): Promise<WorldListing[]> {
    const rows = await this.ctx.router.readGlobal('world_list', consistencyOf(options, 'session'), (conn) =>
      conn.rows<WorldRow>('SELECT world_id, world_name, pvp_type, status, population, last_report_at FROM worlds ORDER BY world_id'),
    );
    return rows.map(toWorld);
  }

  /**
   * One world.
   *
   * @example
   * const { status, population } = await db.worlds.get(1);
   */
  async get(id: number, options: { consistency?: Consistency } = {}): Promise<WorldListing> {
    const wid = parseInput(worldId, id, 'world id');
    const [row] = await this.ctx.router.readGlobal('world_get', consistencyOf(options, 'session'), (conn) =>
      conn.rows<WorldRow>('SELECT world_id, world_name, pvp_type, status, population, last_report_at FROM worlds WHERE world_id = ?', [
        wid,
      ]),
    );
    if (!row) throw new NotFoundError('world', wid);
    return toWorld(row);
  }

  /**
   * Names a character's world, on its shard row and in the directory, in one transaction.
   *
   * @example
   * await db.worlds.assignCharacter(characterId, 1);
   */
  async assignCharacter(characterId: number, id: number): Promise<void> {
    const cid = parseInput(characterIdSchema, characterId, 'character id');
    const wid = parseInput(worldId, id, 'world id');
    await this.ctx.router.onCharacter(
      'world_assign',
      cid,
      async (conn, route, tx) => {
        const global = await tx.branch(GLOBAL);
        const [world] = await global.rows('SELECT world_id FROM worlds WHERE world_id = ? LOCK IN SHARE MODE', [wid]);
        if (!world) throw new NotFoundError('world', wid);
        await global.exec('UPDATE character_directory SET world_id = ? WHERE character_id = ?', [wid, cid]);
        await conn.exec('UPDATE characters SET world_id = ? WHERE character_id = ?', [wid, cid]);
      },
      { ...unfenced('server registry'), withGlobal: true },
    );
  }
  /**
   * Sets a configured district's client key and world file path (reference data: global and
   * every shard at once). District 0 is the tutorial, 0x385 the loading area.
   *
   * @example
   * await db.worlds.setDistrictFile(0x385, { districtKey: 'loading', worldFile: 'resource/worlds/final_world/loading.mxo' });
   */
  async setDistrictFile(districtId: number, file: DistrictFile): Promise<void> {
    const did = parseInput(districtIdSchema, districtId, 'district id');
    const f = parseInput(districtFileInput, file, 'district file');
    this.ctx.router.topology.shardOfDistrict(did); // configured, or UnknownDistrictError
    try {
      await this.ctx.router.onEveryNode('district_set_file', async (tx, keys) => {
        for (const key of keys) {
          const header = await (
            await tx.branch(key)
          ).exec('UPDATE districts SET district_key = ?, world_file = ? WHERE district_id = ?', [f.districtKey, f.worldFile, did]);
          if (header.affectedRows !== 1) throw new NotFoundError('district', did);
        }
      });
    } catch (error) {
      if (isDuplicateKey(error, 'uq_districts_key')) throw new NameTakenError('districtKey', String(f.districtKey), { cause: error });
      throw error;
    }
  }

  /**
   * Every district with its key and world file, by id (from global).
   *
   * @example
   * const tutorial = (await db.worlds.districtFiles()).find((d) => d.districtId === 0);
   */
  async districtFiles(options: { consistency?: Consistency } = {}): Promise<Array<DistrictFile & { districtId: number }>> {
    const rows = await this.ctx.router.readGlobal('district_files', consistencyOf(options, 'session'), (conn) =>
      conn.rows<{ district_id: number; district_key: string | null; world_file: string | null }>(
        'SELECT district_id, district_key, world_file FROM districts ORDER BY district_id',
      ),
    );
    return rows.map((r) => ({ districtId: Number(r.district_id), districtKey: r.district_key, worldFile: r.world_file }));
  }
}

function toWorld(row: WorldRow): WorldListing {
  return {
    worldId: Number(row.world_id),
    name: row.world_name,
    pvpType: row.pvp_type,
    status: row.status,
    population: Number(row.population),
    lastReportAt: row.last_report_at,
  };
}
