import { MxoError } from '../errors.js';
import { WriteBehindFullError } from './types.js';

/**
 * The room of one kind of entry (positions, log rows, each coalesced kind) in a shard's
 * write-behind buffer: its own limit and its own queue of waiting writers. A flood of one kind
 * (chat lines) fills only its own room: writers of positions never wait behind it.
 */
export class KindRoom {
  private readonly waiters: Array<() => void> = [];
  /** Slots promised to writers (at once or woken) that have not added their entry yet. */
  reserved = 0;

  constructor(
    private readonly shard: string,
    private readonly limit: number,
    private readonly depthOf: () => number,
    private readonly timeoutMs: number,
    private readonly isClosed: () => boolean,
    /** Asked for when a writer has to wait (a flush makes room). */
    private readonly onFull: () => void,
  ) {}

  get waiting(): number {
    return this.waiters.length;
  }

  /** True when one more entry fits at once (open, nobody of this kind waiting, under the limit). */
  hasRoomNow(): boolean {
    return !this.isClosed() && this.waiters.length === 0 && this.depthOf() + this.reserved < this.limit;
  }

  /**
   * Reserves one slot, waiting for a flush to make room when the kind is full; the caller adds
   * its entry and then gives the reservation back (`reserved--`). Throws
   * {@link WriteBehindFullError} after the back-pressure timeout.
   */
  async take(): Promise<void> {
    if (this.isClosed()) throw new MxoError('CLOSED', 'write-behind buffer is closed');
    if (this.waiters.length === 0 && this.depthOf() + this.reserved < this.limit) {
      this.reserved++;
      return;
    }
    this.onFull();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(wake);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new WriteBehindFullError(this.shard, this.depthOf()));
      }, this.timeoutMs);
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push(wake);
    });
  }

  /** Wakes only as many waiters as there are free slots, each with its slot reserved; true when any woke. */
  wake(): boolean {
    let woke = false;
    while (this.waiters.length > 0 && this.depthOf() + this.reserved < this.limit) {
      this.reserved++;
      this.waiters.shift()!();
      woke = true;
    }
    return woke;
  }
}
