import { z } from 'zod';
import type { Same } from '../../validate.js';
import { clientObjectId } from '../shared/client-ids.js';
import { yaw as clientYaw } from '../shared/client-limits.js';
import type { Vendor } from '../shared/vendor-rows.js';
import {
  amount,
  districtId,
  faction,
  float,
  id,
  jsonValue,
  position,
  rotation,
  text,
  timestamp as time,
  varchar,
} from '../shared/fields.js';

/** Inputs of the world-content calls (src/systems/world/world-content.ts): the named types they accept and their schemas. */

/** @internal */
export const districtInput = z
  .object({
    districtId,
    districtName: varchar(64),
    districtType: z.enum(['downtown', 'international', 'slums', 'construct', 'special']),
    maxPlayers: z.number().int().min(1).max(2_147_483_647).default(50),
    pvpEnabled: z.boolean().default(false),
    difficultyLevel: z.number().int().min(1).max(127).default(1),
    bounds: z
      .object({ minX: float, maxX: float, minY: float, maxY: float, minZ: float, maxZ: float })
      .strict()
      .default({ minX: 0, maxX: 0, minY: 0, maxY: 0, minZ: 0, maxZ: 0 }),
    weatherType: varchar(32).default('clear'),
    lightingPreset: varchar(32).default('day'),
    ambientSound: varchar(128).optional(),
    backgroundMusic: varchar(128).optional(),
    accessRequirements: jsonValue.optional(),
    instanceType: z.enum(['public', 'private', 'guild', 'event']).default('public'),
    isActive: z.boolean().default(true),
  })
  .strict();
/** @internal */
export const objectInput = z
  .object({
    districtId,
    objectType: z.enum(['npc', 'terminal', 'hardline', 'item_spawn', 'decoration', 'interactive']),
    objectName: varchar(64).optional(),
    templateId: id.optional(),
    position,
    rotation: rotation.default({ x: 0, y: 0, z: 0, w: 1 }),
    objectData: jsonValue.optional(),
    interactionData: jsonValue.optional(),
    currentState: z.enum(['active', 'inactive', 'destroyed', 'hidden']).default('active'),
    respawnTime: amount.default(0),
    spawnCondition: jsonValue.optional(),
    despawnCondition: jsonValue.optional(),
  })
  .strict();
/** @internal */
export const hardlineInput = z
  .object({
    // Districts are numbered from 0 (the tutorial has hardlines too).
    districtId,
    hardlineName: varchar(64),
    position,
    hardlineType: z.enum(['public', 'private', 'faction', 'mission']).default('public'),
    accessCode: varchar(16).optional(),
    factionRequirement: faction.optional(),
    levelRequirement: z.number().int().min(1).max(127).default(1),
    /** Hardline ids this one connects to; absent: every hardline. */
    connectedHardlines: z.array(id).max(1000).optional(),
    connectionCost: amount.default(0),
    isActive: z.boolean().default(true),
    /** The client's hardline number in its district (unsigned 32-bit; the signed form is accepted). */
    hardlineNumber: clientObjectId.optional(),
    /** The facing (Reality's `rot`): a yaw byte or radians, kept as given. */
    yaw: clientYaw.default(0),
  })
  .strict();
/** @internal */
export const eventInput = z
  .object({
    districtId,
    eventType: z.enum(['spawning', 'weather', 'lighting', 'combat', 'story', 'admin']),
    eventName: varchar(128).optional(),
    eventDescription: text.optional(),
    eventData: jsonValue.default({}),
    startTime: time.optional(),
    endTime: time.optional(),
    duration: amount.optional(),
    triggerCondition: jsonValue.optional(),
    completionCondition: jsonValue.optional(),
    createdBy: id.optional(),
  })
  .strict();

type Json = Record<string, unknown> | unknown[];
type Xyz = { x: number; y: number; z: number };

/** What {@link WorldContent.defineDistrict} takes (the seed's `districts` columns). */
export interface DistrictDefinition {
  districtId: number;
  districtName: string;
  districtType: 'downtown' | 'international' | 'slums' | 'construct' | 'special';
  maxPlayers?: number;
  pvpEnabled?: boolean;
  difficultyLevel?: number;
  bounds?: { minX: number; maxX: number; minY: number; maxY: number; minZ: number; maxZ: number };
  weatherType?: string;
  lightingPreset?: string;
  ambientSound?: string;
  backgroundMusic?: string;
  accessRequirements?: Json;
  instanceType?: 'public' | 'private' | 'guild' | 'event';
  isActive?: boolean;
}

/** What {@link WorldContent.spawnObject} takes. */
export interface WorldObjectSpawn {
  districtId: number;
  objectType: 'npc' | 'terminal' | 'hardline' | 'item_spawn' | 'decoration' | 'interactive';
  objectName?: string;
  templateId?: number;
  position: Xyz;
  rotation?: Xyz & { w: number };
  objectData?: Json;
  interactionData?: Json;
  currentState?: 'active' | 'inactive' | 'destroyed' | 'hidden';
  respawnTime?: number;
  spawnCondition?: Json;
  despawnCondition?: Json;
}

/** What {@link WorldContent.defineHardline} takes. */
export interface HardlineDefinition {
  districtId: number;
  hardlineName: string;
  position: Xyz;
  hardlineType?: 'public' | 'private' | 'faction' | 'mission';
  accessCode?: string;
  factionRequirement?: 'zion' | 'machine' | 'merovingian';
  levelRequirement?: number;
  connectedHardlines?: number[];
  connectionCost?: number;
  isActive?: boolean;
  /** The client's hardline number, unique in its district (world.hardlineByNumber, world.travel). */
  hardlineNumber?: number;
  /** The facing: a yaw byte or radians, returned as given (default 0). */
  yaw?: number;
}

/** What {@link World.updateHardline} changes (any of it). */
export type HardlineChange = Partial<Omit<HardlineDefinition, 'districtId' | 'connectedHardlines' | 'accessCode'>> & {
  accessCode?: string | null;
};

/** What {@link WorldContent.startEvent} takes. */
export interface WorldEventStart {
  districtId: number;
  eventType: 'spawning' | 'weather' | 'lighting' | 'combat' | 'story' | 'admin';
  eventName?: string;
  eventDescription?: string;
  eventData?: Json;
  startTime?: Date | string;
  endTime?: Date | string;
  duration?: number;
  triggerCondition?: Json;
  completionCondition?: Json;
  createdBy?: number;
}

/** One row of the seed's `district_activity` view. */
export interface DistrictActivity {
  districtId: number;
  districtName: string;
  currentPlayers: number;
  maxPlayers: number;
  occupancyPercentage: number;
  activeEvents: number;
  shard: string;
}

/** Everything a district server loads at boot. */
export interface DistrictLoad {
  district: Record<string, unknown>;
  objects: Array<Record<string, unknown>>;
  hardlines: Array<Record<string, unknown>>;
  vendors: Vendor[];
  activeEvents: Array<Record<string, unknown>>;
}

// The public types above and their schemas agree both ways (compile-time only; Same in src/validate.ts).
const agrees: [
  Same<z.input<typeof districtInput>, DistrictDefinition>,
  Same<z.input<typeof objectInput>, WorldObjectSpawn>,
  Same<z.input<typeof hardlineInput>, HardlineDefinition>,
  Same<z.input<typeof eventInput>, WorldEventStart>,
] = [true, true, true, true];
void agrees;
