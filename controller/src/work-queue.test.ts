import { describe, expect, it } from "vitest";
import { Backoff } from "./backoff.ts";
import { WorkQueue } from "./work-queue.ts";

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe("WorkQueue", () => {
  it("deduplicates queued keys and never runs one key twice at once", async () => {
    const seen: string[] = [];
    let concurrent = 0;
    let maxConcurrentSameKey = 0;
    const gate = deferred();
    const queue = new WorkQueue({
      workers: 4,
      backoff: new Backoff(),
      handle: async (key) => {
        seen.push(key);
        concurrent++;
        maxConcurrentSameKey = Math.max(maxConcurrentSameKey, concurrent);
        if (seen.length === 1) await gate.promise;
        concurrent--;
        return undefined;
      },
    });
    queue.add("a");
    queue.add("a");
    queue.start();
    queue.add("a"); // while "a" is being handled: handled once more afterwards
    queue.add("a");
    gate.resolve();
    await queue.idle();
    await new Promise((r) => setTimeout(r, 10));
    await queue.idle();
    expect(seen).toEqual(["a", "a"]);
    expect(maxConcurrentSameKey).toBe(1);
    await queue.stop();
  });

  it("runs different keys in parallel up to the worker count", async () => {
    let active = 0;
    let peak = 0;
    const queue = new WorkQueue({
      workers: 3,
      backoff: new Backoff(),
      handle: async () => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 20));
        active--;
        return undefined;
      },
    });
    queue.start();
    for (let i = 0; i < 10; i++) queue.add(`k${i}`);
    await queue.idle();
    expect(peak).toBe(3);
    await queue.stop();
  });

  it("handles a key again at the time its handler asks for", async () => {
    const times: number[] = [];
    const queue = new WorkQueue({
      workers: 1,
      backoff: new Backoff(),
      handle: async () => {
        times.push(Date.now());
        return times.length === 1 ? Date.now() + 80 : undefined;
      },
    });
    queue.start();
    queue.add("k");
    await new Promise((r) => setTimeout(r, 250));
    expect(times).toHaveLength(2);
    expect((times[1] as number) - (times[0] as number)).toBeGreaterThanOrEqual(75);
    await queue.stop();
  });

  it("retries a failing key with growing backoff, then resets after success", async () => {
    const attempts: number[] = [];
    const errors: number[] = [];
    const backoff = new Backoff({ baseMs: 20, random: () => 0.5 });
    const queue = new WorkQueue({
      workers: 1,
      backoff,
      handle: async () => {
        attempts.push(Date.now());
        if (attempts.length < 4) throw new Error("api down");
        return undefined;
      },
      onError: (_key, _error, retryIn) => errors.push(retryIn),
    });
    queue.start();
    queue.add("k");
    await new Promise((r) => setTimeout(r, 400));
    expect(errors).toEqual([20, 40, 80]);
    expect(attempts).toHaveLength(4);
    expect(backoff.attempts("k")).toBe(0);
    await queue.stop();
  });

  it("stops: waits for handlers in flight and drops schedules", async () => {
    const gate = deferred();
    let finished = false;
    let calls = 0;
    const queue = new WorkQueue({
      workers: 1,
      backoff: new Backoff(),
      handle: async () => {
        calls++;
        await gate.promise;
        finished = true;
        return Date.now() + 10;
      },
    });
    queue.start();
    queue.add("k");
    await new Promise((r) => setTimeout(r, 5));
    const stopped = queue.stop();
    gate.resolve();
    await stopped;
    expect(finished).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toBe(1);
  });
});
