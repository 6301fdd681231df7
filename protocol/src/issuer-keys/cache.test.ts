import { describe, expect, it } from "vitest";
import { IssuerKeyCache, type IssuerKeyStore, type RemoteIssuerKeySource, type StoredIssuerKeys } from "./cache.ts";

const KEY = { kty: "EC", crv: "P-256", x: "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", y: "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0", kid: "k1" };
const SETTINGS = { maxStaleMs: 600_000, cooldownMs: 10_000, joinTimeoutMs: 1_000, maxSources: 4 };
const T0 = 1_700_000_000_000;

/** A source whose answers the test steers, with an in-memory store (the shape KV has for the token server). */
function steered(withStore: boolean) {
  const state = { fetches: 0, failing: false, written: [] as { stored: StoredIssuerKeys; keepMs: number }[], held: undefined as StoredIssuerKeys | undefined };
  const store: IssuerKeyStore = {
    read: async () => state.held,
    write: async (stored, keepMs) => {
      state.written.push({ stored, keepMs });
      state.held = stored;
    },
  };
  const source: RemoteIssuerKeySource = {
    id: "src",
    label: "https://issuer.example/jwks",
    fetch: async () => {
      state.fetches++;
      await Promise.resolve();
      return state.failing ? { ok: false, detail: "HTTP 503" } : { ok: true, value: { keys: [KEY], origin: "https://issuer.example/jwks", freshForMs: 60_000 } };
    },
    ...(withStore && { store }),
  };
  return { state, source };
}

describe("IssuerKeyCache", () => {
  it("shares one fetch between concurrent callers, then serves from memory while fresh", async () => {
    const { state, source } = steered(false);
    const cache = new IssuerKeyCache(SETTINGS);
    const results = await Promise.all(Array.from({ length: 10 }, () => cache.keysFor(source, { nowMs: T0 })));
    expect(results.every((r) => r.ok)).toBe(true);
    expect((await cache.keysFor(source, { nowMs: T0 + 59_999 })).ok).toBe(true);
    expect(state.fetches).toBe(1);
  });

  it("serves stale keys while the source fails, within the cooldown without asking, then fails closed", async () => {
    const { state, source } = steered(false);
    const cache = new IssuerKeyCache(SETTINGS);
    await cache.keysFor(source, { nowMs: T0 });
    state.failing = true;
    expect((await cache.keysFor(source, { nowMs: T0 + 61_000 })).ok).toBe(true);
    expect((await cache.keysFor(source, { nowMs: T0 + 62_000 })).ok).toBe(true);
    expect(state.fetches).toBe(2);
    expect(await cache.keysFor(source, { nowMs: T0 + 600_001 })).toEqual({ ok: false, detail: "issuer is failing and its cached keys are too old: HTTP 503" });
  });

  it("writes fetched keys to the store (through waitUntil when given), and a cold cache reads them back without a fetch", async () => {
    const { state, source } = steered(true);
    const pending: Promise<unknown>[] = [];
    expect((await new IssuerKeyCache(SETTINGS).keysFor(source, { nowMs: T0, waitUntil: (p) => pending.push(p) })).ok).toBe(true);
    expect(pending).toHaveLength(1);
    await Promise.all(pending);
    expect(state.written).toEqual([{ stored: { keys: [KEY], origin: "https://issuer.example/jwks", fetchedAt: T0, freshUntil: T0 + 60_000 }, keepMs: 600_000 }]);
    expect((await new IssuerKeyCache(SETTINGS).keysFor(source, { nowMs: T0 + 1_000 })).ok).toBe(true);
    expect(state.fetches).toBe(1);
  });

  it("refetches for an unknown kid at most once per cooldown", async () => {
    const { state, source } = steered(false);
    const cache = new IssuerKeyCache(SETTINGS);
    await cache.keysFor(source, { nowMs: T0 });
    expect(await cache.keysAfterUnknownKid(source, { nowMs: T0 + 5_000 })).toBeUndefined();
    expect((await cache.keysAfterUnknownKid(source, { nowMs: T0 + 10_000 }))?.ok).toBe(true);
    expect(await cache.keysAfterUnknownKid(source, { nowMs: T0 + 15_000 })).toBeUndefined();
    expect(state.fetches).toBe(2);
  });

  it("turns a source whose fetch throws into a failure result", async () => {
    const cache = new IssuerKeyCache(SETTINGS);
    const source: RemoteIssuerKeySource = { id: "x", label: "x", fetch: () => Promise.reject(new Error("bug")) };
    expect(await cache.keysFor(source, { nowMs: T0 })).toEqual({ ok: false, detail: "issuer keys could not be fetched: the keys could not be loaded" });
  });
});
