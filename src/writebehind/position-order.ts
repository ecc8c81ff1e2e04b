/**
 * The order of one process's positions (one per cluster object): every `updatePosition` gets the
 * next sequence number when it is buffered, and the latest number per character is kept. A
 * position that is carried to another buffer (a move), put back after a failed flush or
 * re-routed after it matched no row is buffered only while nothing newer was sent for that
 * character, so an older position never overwrites a newer one, wherever the newer one went.
 *
 * Memory: one number per character this process ever sent a position for (a few MB for 100k).
 */
export class PositionOrder {
  private last = 0;
  private readonly latest = new Map<number, number>();

  /** The sequence number of a position of `characterId` being buffered now (the newest). */
  stamp(characterId: number): number {
    const seq = ++this.last;
    this.latest.set(characterId, seq);
    return seq;
  }

  /** False once a newer position than `seq` was sent for the character. */
  isLatest(characterId: number, seq: number): boolean {
    return (this.latest.get(characterId) ?? seq) <= seq;
  }
}
