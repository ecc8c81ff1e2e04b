import { OverloadedError } from '../errors.js';

/**
 * Runs expensive work a few at a time with a bounded wait list: when `concurrency` jobs run and
 * `maxQueued` wait, the next is refused with {@link OverloadedError} at once (a flood costs a
 * refusal, not memory and CPU). Freed slots go to waiters in arrival order.
 */
export class WorkQueue {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  /** Jobs refused because the wait list was full. */
  refused = 0;

  constructor(
    private readonly resource: string,
    public concurrency: number,
    public maxQueued: number,
  ) {}

  /** Jobs running and waiting now. */
  get load(): { active: number; queued: number } {
    return { active: this.active, queued: this.waiting.length };
  }

  /** True when the next job would be refused. */
  get full(): boolean {
    return this.active >= this.concurrency && this.waiting.length >= this.maxQueued;
  }

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.active < this.concurrency) this.active++;
    else {
      if (this.waiting.length >= this.maxQueued) {
        this.refused++;
        throw new OverloadedError(this.resource, this.maxQueued);
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve)); // the slot is handed over, active unchanged
    }
    try {
      return await job();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
