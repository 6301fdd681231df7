/**
 * A keyed work queue in the client-go mould: a key is queued at most once,
 * never handled by two workers at a time (an add while it is being handled
 * queues it again afterwards), can be scheduled for a later time (rotation),
 * and is retried with per-key exponential backoff when its handler throws.
 */
import type { Backoff } from "./backoff.ts";

/** setTimeout's limit; longer waits are re-armed when they fire. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface WorkQueueOptions {
  readonly workers: number;
  /** Handles a key; the result, if any, is when (epoch ms) to handle it again. */
  readonly handle: (key: string) => Promise<number | undefined>;
  readonly backoff: Backoff;
  readonly onError?: (key: string, error: unknown, retryInMs: number) => void;
  readonly now?: () => number;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly idleWaiters: (() => void)[] = [];
  private running = false;
  private active = 0;
  private readonly now: () => number;

  constructor(private readonly options: WorkQueueOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.running = true;
    this.kick();
  }

  /** Stops taking work, drops schedules, and waits for the handlers in flight. */
  async stop(): Promise<void> {
    this.running = false;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.queue.length = 0;
    this.queued.clear();
    this.dirty.clear();
    await this.idle();
  }

  add(key: string): void {
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.kick();
  }

  /** Handle `key` at `atMs` (replacing an earlier schedule for it). */
  schedule(key: string, atMs: number): void {
    this.unschedule(key);
    const delay = Math.max(0, atMs - this.now());
    const timer = setTimeout(() => {
      this.timers.delete(key);
      if (this.now() < atMs) this.schedule(key, atMs);
      else this.add(key);
    }, Math.min(delay, MAX_TIMER_MS));
    this.timers.set(key, { at: atMs, timer });
  }

  unschedule(key: string): void {
    const existing = this.timers.get(key);
    if (existing) clearTimeout(existing.timer);
    this.timers.delete(key);
  }

  /** Drops a key's schedule and backoff (its object is gone). */
  forget(key: string): void {
    this.unschedule(key);
    this.options.backoff.reset(key);
  }

  get depth(): number {
    return this.queue.length;
  }

  /** Resolves when nothing is queued or being handled (scheduled keys don't count). */
  idle(): Promise<void> {
    if (this.active === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private kick(): void {
    while (this.running && this.active < this.options.workers && this.queue.length > 0) {
      const key = this.queue.shift() as string;
      this.queued.delete(key);
      this.active++;
      this.processing.add(key);
      void this.work(key);
    }
    if (this.active === 0 && this.queue.length === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private async work(key: string): Promise<void> {
    try {
      const next = await this.options.handle(key);
      this.options.backoff.reset(key);
      if (this.running && next !== undefined) this.schedule(key, next);
      else if (next === undefined) this.unschedule(key);
    } catch (error) {
      const retryIn = this.options.backoff.next(key);
      this.options.onError?.(key, error, retryIn);
      if (this.running) this.schedule(key, this.now() + retryIn);
    } finally {
      this.processing.delete(key);
      this.active--;
      if (this.dirty.delete(key) && this.running) this.add(key);
      this.kick();
    }
  }
}
