import type { Metrics } from './metrics/metrics.js';
import { Accounts } from './systems/accounts/accounts.js';
import { Characters } from './systems/characters/characters.js';
import { Organizations } from './systems/organizations/organizations.js';
import { Moderation } from './systems/moderation/moderation.js';
import { Missions } from './systems/missions/missions.js';
import { Abilities } from './systems/abilities/abilities.js';
import { Factions } from './systems/factions/factions.js';
import type { LevelCurve } from './systems/shared/level-curve.js';
import { Combat } from './systems/combat/combat.js';
import { Interlock } from './systems/interlock/interlock.js';
import { Vendors } from './systems/vendors/vendors.js';
import type { RepoContext } from './systems/shared/context.js';
import { Economy } from './systems/economy/economy.js';
import { Inventory } from './systems/inventory/inventory.js';
import { Items } from './systems/items/items.js';
import { Logs } from './systems/logs/logs.js';
import { Players } from './systems/players/players.js';
import { Presence } from './systems/presence/presence.js';
import { Worlds } from './systems/servers/worlds.js';
import { Social } from './systems/social/social.js';
import { Crews } from './systems/crews/crews.js';
import { Trades } from './systems/trades/trades.js';
import { World } from './systems/world/world.js';
import type { IdAllocator } from './routing/id-allocator.js';
import { Router, type RouterDeps } from './routing/router.js';
import type { ReadSession } from './routing/read-session.js';
import type { WriteBehindBuffer } from './writebehind/write-behind-buffer.js';

/** The cluster's machinery that every session shares. */
export interface SharedMachinery extends RouterDeps {
  ids: IdAllocator;
  metrics: Metrics;
  writeBehind: (shard: string) => WriteBehindBuffer;
  /** The configured level curve (absent: the default). */
  levelCurve?: LevelCurve;
}

/**
 * The game-data surface: the same on `db` and on every `db.session()`. Each read session
 * remembers its own writes, so its `session`-consistency reads see them.
 */
export class DataSession {
  readonly accounts: Accounts;
  readonly characters: Characters;
  readonly items: Items;
  readonly inventory: Inventory;
  readonly trades: Trades;
  readonly players: Players;
  readonly social: Social;
  readonly crews: Crews;
  readonly economy: Economy;
  readonly world: World;
  readonly logs: Logs;
  readonly organizations: Organizations;
  readonly moderation: Moderation;
  readonly missions: Missions;
  readonly abilities: Abilities;
  readonly factions: Factions;
  readonly combat: Combat;
  readonly interlock: Interlock;
  readonly vendors: Vendors;
  readonly presence: Presence;
  readonly worlds: Worlds;
  /** What the repositories of this session share. */
  protected readonly ctx: RepoContext;

  constructor(shared: SharedMachinery, readSession: ReadSession) {
    const ctx: RepoContext = {
      router: new Router(shared, readSession),
      ids: shared.ids,
      metrics: shared.metrics,
      writeBehind: shared.writeBehind,
      levelCurve: shared.levelCurve,
    };
    this.ctx = ctx;
    this.accounts = new Accounts(ctx);
    this.characters = new Characters(ctx);
    this.items = new Items(ctx);
    this.inventory = new Inventory(ctx);
    this.trades = new Trades(ctx);
    this.players = new Players(ctx);
    this.social = new Social(ctx);
    this.crews = new Crews(ctx);
    this.economy = new Economy(ctx);
    this.world = new World(ctx);
    this.logs = new Logs(ctx);
    this.organizations = new Organizations(ctx);
    this.moderation = new Moderation(ctx);
    this.missions = new Missions(ctx);
    this.abilities = new Abilities(ctx);
    this.factions = new Factions(ctx);
    this.combat = new Combat(ctx);
    this.interlock = new Interlock(ctx);
    this.vendors = new Vendors(ctx);
    this.presence = new Presence(ctx);
    this.characters.presenceLink = this.presence;
    this.social.crewsLink = this.crews;
    this.worlds = new Worlds(ctx);
  }

  /** A string that continues this read session in another process: `db.session(token)`. */
  token(): string {
    return this.ctx.router.session.token();
  }
}
