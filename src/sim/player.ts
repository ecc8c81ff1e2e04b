import type { DataSession } from '../data-session.js';
import type { CharacterSpawn } from '../systems/characters/characters-world.js';
import type { SimContent } from './content.js';
import { outcomeOf, type Stats } from './stats.js';

/** One simulated player's identity, created by the parent process. */
export interface SimPlayerSpec {
  accountId: number;
  username: string;
  password: string;
  characterId: number;
  districtId: number;
  /** The side the character took at creation (organizations take members of their own side). */
  faction: 'zion' | 'machine' | 'merovingian';
}

/** What a player does between saves, with how often (weights). */
const ACTIONS = [
  ['move', 30],
  ['chat', 10],
  ['ability', 8],
  ['fight', 8],
  ['mission', 12],
  ['buy', 8],
  ['sell', 4],
  ['trade_window', 5],
  ['trade', 3],
  ['hardline', 3],
  ['crew', 2],
  ['organization', 2],
  ['read', 5],
] as const;
type Action = (typeof ACTIONS)[number][0];
const TOTAL_WEIGHT = ACTIONS.reduce((n, [, w]) => n + w, 0);

/** How long a claim lives without a heartbeat; the periodic save renews it well before. */
const CLAIM_TTL_SEC = 60;

/** What the district server holds in memory for its player, saved absolutely (as the emulators do). */
type HeldState = Pick<CharacterSpawn, 'position' | 'yaw' | 'health' | 'maxHealth' | 'innerStrength' | 'maxInnerStrength'> & {
  fencingToken: number;
};

/**
 * A simulated player driven the way Hardline Dreams and Reality drive their database: login, the
 * character list (account, worlds, roster side by side), select (a world-entry ticket), world
 * entry (the pending ticket found by character, consumed for a presence claim, then one spawn
 * read), play through every game system (one action per {@link act}), periodic absolute saves
 * fenced by the claim, and logout (last save, claim released, session ended).
 */
export class SimPlayer {
  private sessionToken: string | undefined;
  private held: HeldState | undefined;
  private lastSave = 0;
  private missionActive = false;
  private objectivesDone = 0;
  private inCrew = false;
  private inOrganization = false;
  private learned = false;
  private tour = 0;

  constructor(
    private readonly spec: SimPlayerSpec,
    private readonly db: DataSession,
    private readonly content: SimContent,
    private readonly peers: number[],
    private readonly stats: Stats,
    /** The district server this player's process stands for (handoff tickets name it). */
    private readonly serverId: string,
    /** Milliseconds between absolute saves. */
    private readonly saveEveryMs = 5_000,
  ) {}

  get characterId(): number {
    return this.spec.characterId;
  }

  /** A loopback address of its own: players come from many addresses, and the login throttle counts each (no traffic goes there). */
  private address(): string {
    const id = this.spec.characterId;
    return `127.${(id >> 16) & 255}.${(id >> 8) & 255}.${id & 255}`;
  }

  /** The emulators' way in: login, character list, select, world entry. True once in the world. */
  async enter(): Promise<boolean> {
    const { db, spec } = this;
    const me = spec.characterId;
    await this.timed('login', async () => {
      this.sessionToken = (await db.accounts.login({ username: spec.username, password: spec.password, ip: this.address() })).sessionToken;
    });
    if (!this.sessionToken) return false;
    // The auth reply: the account, the world list and the character list, side by side.
    await this.timed('roster', async () => {
      const [, , roster] = await Promise.all([
        db.accounts.byUsername(spec.username),
        db.worlds.list(),
        db.characters.roster(spec.accountId),
      ]);
      if (!roster.some((c) => c.characterId === me)) throw new Error(`roster of account ${spec.accountId} lacks character ${me}`);
    });
    // Select: the margin server hands the player to a world server with a ticket.
    let ticket: string | undefined;
    await this.timed('select', async () => {
      ticket = (
        await db.presence.issueHandoff({
          accountId: spec.accountId,
          characterId: me,
          serverId: this.serverId,
          districtId: spec.districtId,
          ttlSec: 60,
        })
      ).ticket;
    });
    if (!ticket) return false;
    // World entry: the UDP session names only the character; find its ticket, take the claim, spawn.
    await this.timed('enter_world', async () => {
      const pending = await db.presence.pendingHandoff(me, this.serverId);
      if (!pending) throw new Error(`no pending handoff for character ${me}`);
      const { claim } = await db.presence.consumeHandoff(ticket!, this.serverId, { ttlSec: CLAIM_TTL_SEC });
      const spawn = await db.characters.spawn(me, { consistency: 'session' });
      spec.districtId = spawn.districtId;
      this.held = {
        fencingToken: claim.fencingToken,
        position: { ...spawn.position },
        yaw: spawn.yaw,
        health: spawn.health,
        maxHealth: spawn.maxHealth,
        innerStrength: spawn.innerStrength,
        maxInnerStrength: spawn.maxInnerStrength,
      };
      this.lastSave = performance.now();
    });
    return this.held !== undefined;
  }

  /** Logout: the last absolute save, the claim released, the session ended. */
  async leave(): Promise<void> {
    await this.timed('logout', async () => {
      const held = this.held;
      if (held) {
        await this.db.world.flush(); // buffered moves land before the save's position
        await this.db.characters.save(this.spec.characterId, this.snapshot(held), { fencingToken: held.fencingToken });
        await this.db.presence.release(this.spec.characterId, held.fencingToken);
        this.held = undefined;
      }
      if (this.sessionToken) await this.db.accounts.logout(this.sessionToken);
    });
  }

  /** The periodic save of an emulator's world server (absolute values, fenced), and the claim's heartbeat. */
  async saveIfDue(): Promise<void> {
    const held = this.held;
    if (!held || performance.now() - this.lastSave < this.saveEveryMs) return;
    this.lastSave = performance.now();
    await this.timed('save', async () => {
      await this.db.characters.save(this.spec.characterId, this.snapshot(held), { fencingToken: held.fencingToken });
      await this.db.presence.heartbeat(this.spec.characterId, held.fencingToken, { ttlSec: CLAIM_TTL_SEC });
    });
  }

  private snapshot(held: HeldState) {
    return { position: held.position, yaw: held.yaw, health: held.health, innerStrength: held.innerStrength };
  }

  /** One action: every kind once in turn first (so even a short run plays every system), then by weight. */
  async act(): Promise<void> {
    let roll = Math.random() * TOTAL_WEIGHT;
    const action = this.tour < ACTIONS.length ? ACTIONS[this.tour++]![0] : (ACTIONS.find(([, w]) => (roll -= w) < 0)?.[0] ?? 'move');
    await this.timed(action, () => this.perform(action));
  }

  private async perform(action: Action): Promise<void> {
    const db = this.db;
    const me = this.spec.characterId;
    const { content } = this;
    switch (action) {
      case 'move': {
        const position = { x: Math.random() * 1000, y: 0, z: Math.random() * 1000 };
        if (this.held) {
          this.held.position = position;
          this.held.yaw = Math.floor(Math.random() * 256);
        }
        return db.world.updatePosition(me, position, this.fenced());
      }
      case 'chat':
        return db.logs.chat({ characterId: me, channel: 'say', message: `hello from ${me} 😎`, districtId: this.spec.districtId });
      case 'ability':
        if (!this.learned) {
          await db.abilities.learn(me, content.abilityId);
          this.learned = true;
          return;
        }
        return db.abilities.use(me, content.abilityId);
      case 'fight': {
        const target = this.peer();
        const won = Math.random() < 0.5;
        // The server's own health and inner strength bookkeeping, saved at the next save.
        if (this.held) {
          this.held.health = Math.max(1, Math.floor(this.held.maxHealth * (0.3 + 0.7 * Math.random())));
          this.held.innerStrength = Math.floor(this.held.maxInnerStrength * Math.random());
        }
        await db.combat.record({
          encounterType: 'pvp',
          initiatorId: me,
          targetId: target,
          targetType: 'player',
          districtId: this.spec.districtId,
          position: { x: 1, y: 0, z: 1 },
          result: won ? 'win' : 'loss',
          winnerId: won ? me : target,
          damageDealt: Math.floor(Math.random() * 500),
          damageReceived: Math.floor(Math.random() * 500),
        });
        return;
      }
      case 'mission':
        if (!this.missionActive) {
          await db.missions.accept(me, content.missionId);
          this.missionActive = true;
          this.objectivesDone = 0;
        } else if (this.objectivesDone < 2) {
          await db.missions.progress(me, content.missionId, this.objectivesDone, this.objectivesDone === 0 ? 1 : 2);
          this.objectivesDone++;
        } else {
          this.missionActive = false;
          await db.missions.complete(me, content.missionId);
        }
        return;
      case 'buy':
        await db.vendors.buy({
          characterId: me,
          vendorId: content.vendors[this.spec.districtId]!,
          templateId: content.templates.pill,
          quantity: 1,
        });
        return;
      case 'sell': {
        const items = await db.inventory.list(me, { consistency: 'session' });
        const item = items.find((i) => i.templateId === content.templates.pill);
        if (item) await db.vendors.sell({ characterId: me, vendorId: content.vendors[this.spec.districtId]!, itemId: item.itemId });
        return;
      }
      case 'trade_window': {
        const partner = this.peer();
        const { tradeId } = await db.trades.open(me, partner);
        await db.trades.offer(tradeId, me, { money: 1 + Math.floor(Math.random() * 5) });
        await db.trades.offer(tradeId, partner, { money: Math.floor(Math.random() * 3) });
        await db.trades.confirm(tradeId, me);
        await db.trades.confirm(tradeId, partner);
        return;
      }
      case 'trade':
        await db.trades.execute({
          initiator: { characterId: me, money: 1 + Math.floor(Math.random() * 3) },
          recipient: { characterId: this.peer() },
        });
        return;
      case 'hardline': {
        const to = content.districts[Math.floor(Math.random() * content.districts.length)]!;
        if (to === this.spec.districtId) return;
        await db.world.useHardline(me, content.hardlines[this.spec.districtId]!, content.hardlines[to]!, this.fenced());
        this.spec.districtId = to;
        return;
      }
      case 'crew':
        if (this.inCrew || content.crewIds.length === 0) return;
        this.inCrew = true;
        return db.social.joinCrew(content.crewIds[Math.floor(Math.random() * content.crewIds.length)]!, me);
      case 'organization':
        if (content.organizationId === 0 || this.spec.faction !== 'zion') return;
        if (!this.inOrganization) {
          // The founder is a member already; anyone else joins once.
          if (me !== content.organizationFounder) await db.organizations.join(content.organizationId, me);
          this.inOrganization = true;
        }
        await db.organizations.deposit(content.organizationId, me, 1);
        return;
      case 'read':
        await db.characters.get(me, { consistency: 'eventual' });
        return;
    }
  }

  /** The claim's token on every write that takes one: a server that lost the character is refused. */
  private fenced(): { fencingToken?: number } {
    return this.held ? { fencingToken: this.held.fencingToken } : {};
  }

  private peer(): number {
    for (;;) {
      const id = this.peers[Math.floor(Math.random() * this.peers.length)]!;
      if (id !== this.spec.characterId || this.peers.length === 1) return id;
    }
  }

  private async timed(op: string, fn: () => Promise<unknown>): Promise<void> {
    const started = performance.now();
    try {
      await fn();
      this.stats.record(op, performance.now() - started, 'ok');
    } catch (error) {
      const { outcome, code } = outcomeOf(error);
      this.stats.record(op, performance.now() - started, outcome, code);
    }
  }
}
