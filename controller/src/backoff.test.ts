import { describe, expect, it } from "vitest";
import { Backoff, sleep } from "./backoff.ts";

describe("Backoff", () => {
  it("doubles per failure up to the cap and resets on success", () => {
    const backoff = new Backoff({ baseMs: 100, maxMs: 1000, random: () => 0.5 });
    expect([1, 2, 3, 4, 5, 6].map(() => backoff.next("k"))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoff.next("other")).toBe(100);
    backoff.reset("k");
    expect(backoff.next("k")).toBe(100);
  });

  it("jitters within ±20 % and never past the cap", () => {
    expect(new Backoff({ baseMs: 100, random: () => 0 }).next("k")).toBe(80);
    expect(new Backoff({ baseMs: 100, random: () => 1 }).next("k")).toBe(120);
    const capped = new Backoff({ baseMs: 1000, maxMs: 1000, random: () => 1 });
    expect(capped.next("k")).toBe(1000);
  });
});

describe("sleep", () => {
  it("ends early when aborted", async () => {
    const abort = new AbortController();
    const started = Date.now();
    const done = sleep(10_000, abort.signal);
    abort.abort();
    await done;
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
