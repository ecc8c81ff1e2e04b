import type { DataSession } from '../data-session.js';
import type { SimContent } from './content.js';
import { outcomeOf, type Stats } from './stats.js';

/** One simulated player's identity, created by the parent process. */
export interface SimPlayerSpec {
  accountId: number;
  username: string;
  password: string;
  characterId: number;
  districtId: number;
}

/** What a player does, with how often (weights). */
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

/**
 * A simulated player: logs in, enters the world and plays through every game system (one action
 * per call to {@link act}), the way a district server would drive the library for one client.
 */
export class SimPlayer {
  private sessionToken: string | undefined;
  private missionActive = false;
  private objectivesDone = 0;
  private inCrew = false;
  private learned = false;
  private tour = 0;

  constructor(
    private readonly spec: SimPlayerSpec,
    private readonly db: DataSession,
    private readonly content: SimContent,
    private readonly peers: number[],
    private readonly stats: Stats,
  ) {}

  get characterId(): number {
    return this.spec.characterId;
  }

  /** A loopback address of its own: players come from many addresses, and the login throttle counts each (no traffic goes there). */
  private address(): string {
    const id = this.spec.characterId;
    return `127.${(id >> 16) & 255}.${(id >> 8) & 255}.${id & 255}`;
  }

  /** Login, the online flag, and one enter-world read. */
  async enter(): Promise<void> {
    await this.timed('login', async () => {
      this.sessionToken = (
        await this.db.accounts.login({ username: this.spec.username, password: this.spec.password, ip: this.address() })
      ).sessionToken;
    });
    await this.timed('enter_world', async () => {
      await this.db.characters.setOnline(this.spec.characterId, true);
      await this.db.characters.get(this.spec.characterId, { consistency: 'session' });
    });
  }

  /** Logout: flushes the character's buffered writes first, as a server does at logout. */
  async leave(): Promise<void> {
    await this.timed('logout', async () => {
      await this.db.world.flush();
      await this.db.characters.setOnline(this.spec.characterId, false);
      if (this.sessionToken) await this.db.accounts.logout(this.sessionToken);
    });
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
      case 'move':
        return db.world.updatePosition(me, { x: Math.random() * 1000, y: 0, z: Math.random() * 1000 });
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
        await db.world.useHardline(me, content.hardlines[this.spec.districtId]!, content.hardlines[to]!);
        this.spec.districtId = to;
        return;
      }
      case 'crew':
        if (this.inCrew || content.crewIds.length === 0) return;
        this.inCrew = true;
        return db.social.joinCrew(content.crewIds[Math.floor(Math.random() * content.crewIds.length)]!, me);
      case 'organization':
        if (content.organizationId === 0) return;
        await db.organizations.join(content.organizationId, me).catch(() => undefined);
        await db.organizations.deposit(content.organizationId, me, 1);
        return;
      case 'read':
        await db.characters.get(me, { consistency: 'eventual' });
        return;
    }
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
