import { env } from "cloudflare:test";
import { afterEach, describe, expect, inject, it, vi } from "vitest";
import { JWKS_CACHE_DEFAULTS, JwksCache, jwksKvKey, type CacheCall, type DiscoverySource, type StoredJwks } from "./jwks-cache.ts";
import { discoveryProvider, freshIssuer, type TestIssuer } from "./test-issuer.ts";
import { resetIdentityCaches, verifyWorkloadToken, type VerifyContext } from "./verify-workload-token.ts";

const SERVICE = "registry.example.com";
const HOUR = 3600;
const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * Simulated time, for the code under test and for the KV-limits check
 * (worker/test/kv-limits-setup.ts) alike: a refetch "an hour later" is an hour
 * after the first write as far as KV's one-write-per-second rule is concerned.
 * Only Date is faked: timeouts stay real.
 */
function clockAt(ms: number): void {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(ms);
}
afterEach(() => vi.useRealTimers());

const ctx = (now: number): VerifyContext => {
  clockAt(now * 1000);
  return { service: SERVICE, kv: env.JWKS_CACHE, allowHttpLoopback: true, now };
};
/** `call` at another (simulated) time. */
const at = (call: CacheCall, nowMs: number): CacheCall => {
  clockAt(nowMs);
  return { ...call, nowMs };
};

/** Verifies a fresh token of `issuer` at `now` (the token is minted valid at that time). */
async function verifyAt(issuer: TestIssuer, now: number, header?: Record<string, unknown>) {
  const token = await issuer.mint({ claims: { sub: "s", aud: SERVICE }, now, ...(header !== undefined && { header }) });
  return verifyWorkloadToken(token, discoveryProvider(issuer.url), ctx(now));
}

describe("JWKS cache with a loopback issuer", () => {
  it("serves the second verification from isolate memory, then from KV", async () => {
    const issuer = await freshIssuer(inject("githubIssuer"));
    const now = nowSeconds();
    expect((await verifyAt(issuer, now)).ok).toBe(true);
    expect((await verifyAt(issuer, now + 1)).ok).toBe(true);
    expect(await issuer.stats()).toEqual({ discovery: 1, jwks: 1 });

    const stored = await env.JWKS_CACHE.get<StoredJwks>(await jwksKvKey({ issuer: issuer.url, discoveryUrl: issuer.url }), "json");
    expect(stored).toMatchObject({
      v: 1,
      issuer: issuer.url,
      discoveryUrl: `${issuer.url}/.well-known/openid-configuration`,
      jwksUri: `${issuer.url}/.well-known/jwks`,
      fetchedAt: now * 1000,
      freshUntil: (now + JWKS_CACHE_DEFAULTS.defaultFreshSeconds) * 1000,
    });
    expect(stored?.keys).toHaveLength(1);
    expect(stored?.keys[0]).not.toHaveProperty("d");

    resetIdentityCaches();
    expect((await verifyAt(issuer, now + 2)).ok).toBe(true);
    expect(await issuer.stats()).toEqual({ discovery: 1, jwks: 1 });
  });

  it("shares one fetch between concurrent verifications of a cold issuer", async () => {
    const issuer = await freshIssuer(inject("clusterIssuer"));
    const now = nowSeconds();
    const tokens = await Promise.all(Array.from({ length: 20 }, () => issuer.mint({ claims: { sub: "s", aud: SERVICE }, now })));
    const results = await Promise.all(tokens.map((t) => verifyWorkloadToken(t, discoveryProvider(issuer.url), ctx(now))));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(await issuer.stats()).toEqual({ discovery: 1, jwks: 1 });
  });

  it("refetches once the keys are no longer fresh", async () => {
    const issuer = await freshIssuer(inject("githubIssuer"));
    const now = nowSeconds();
    expect((await verifyAt(issuer, now)).ok).toBe(true);
    expect((await verifyAt(issuer, now + JWKS_CACHE_DEFAULTS.defaultFreshSeconds - 1)).ok).toBe(true);
    expect(await issuer.stats()).toEqual({ discovery: 1, jwks: 1 });
    expect((await verifyAt(issuer, now + JWKS_CACHE_DEFAULTS.defaultFreshSeconds + 1)).ok).toBe(true);
    expect(await issuer.stats()).toEqual({ discovery: 2, jwks: 2 });
  });

  it("keeps verifying with stale keys while the issuer is down, without hammering it, then fails closed", async () => {
    const issuer = await freshIssuer(inject("githubIssuer"));
    const now = nowSeconds();
    expect((await verifyAt(issuer, now)).ok).toBe(true);
    await issuer.setDown(true);

    expect((await verifyAt(issuer, now + 600)).ok).toBe(true);
    expect(await issuer.stats()).toEqual({ discovery: 2, jwks: 1 });
    // Within the cooldown after a failure the issuer isn't asked again.
    expect((await verifyAt(issuer, now + 600 + JWKS_CACHE_DEFAULTS.refetchCooldownSeconds - 1)).ok).toBe(true);
    expect(await issuer.stats()).toEqual({ discovery: 2, jwks: 1 });

    expect((await verifyAt(issuer, now + 23 * HOUR)).ok).toBe(true);
    expect(await verifyAt(issuer, now + JWKS_CACHE_DEFAULTS.maxStaleSeconds + 1)).toEqual({
      ok: false,
      reason: "issuer_unavailable",
      detail: `issuer is failing and its cached keys are too old: discovery ${issuer.url}/.well-known/openid-configuration: HTTP 503`,
    });

    await issuer.setDown(false);
    expect((await verifyAt(issuer, now + JWKS_CACHE_DEFAULTS.maxStaleSeconds + JWKS_CACHE_DEFAULTS.refetchCooldownSeconds + 2)).ok).toBe(true);
  });

  it("fails closed when the issuer is down and nothing is cached", async () => {
    const issuer = await freshIssuer(inject("githubIssuer"));
    await issuer.setDown(true);
    expect(await verifyAt(issuer, nowSeconds())).toEqual({
      ok: false,
      reason: "issuer_unavailable",
      detail: `issuer keys could not be fetched: discovery ${issuer.url}/.well-known/openid-configuration: HTTP 503`,
    });
  });

  it("picks up a rotated key through the unknown-kid refetch, at most once per cooldown", async () => {
    const issuer = await freshIssuer(inject("githubIssuer"));
    const now = nowSeconds();
    const before = await issuer.mint({ claims: { sub: "s", aud: SERVICE }, now, expiresIn: HOUR });
    expect((await verifyWorkloadToken(before, discoveryProvider(issuer.url), ctx(now))).ok).toBe(true);
    await issuer.rotate();

    // Keys fetched just now: a new kid must wait for the cooldown.
    expect(await verifyAt(issuer, now + 1)).toMatchObject({ ok: false, reason: "unknown_key" });
    expect(await issuer.stats()).toEqual({ discovery: 1, jwks: 1 });

    const later = now + JWKS_CACHE_DEFAULTS.refetchCooldownSeconds;
    expect((await verifyAt(issuer, later)).ok).toBe(true);
    expect(await issuer.stats()).toEqual({ discovery: 2, jwks: 2 });
    // The old key left the JWKS, and its kid is now the unknown one.
    expect(await verifyWorkloadToken(before, discoveryProvider(issuer.url), ctx(later + 1))).toMatchObject({ ok: false, reason: "unknown_key" });
    expect(await issuer.stats()).toEqual({ discovery: 2, jwks: 2 });
  });

  it("answers issuer_unavailable, not unknown_key, for a new kid while the issuer fails and the keys held are stale", async () => {
    const issuer = await freshIssuer(inject("githubIssuer"));
    const now = nowSeconds();
    const before = await issuer.mint({ claims: { sub: "s", aud: SERVICE }, now, expiresIn: HOUR });
    expect((await verifyWorkloadToken(before, discoveryProvider(issuer.url), ctx(now))).ok).toBe(true);
    await issuer.rotate();
    await issuer.setDown(true);
    const stale = now + JWKS_CACHE_DEFAULTS.defaultFreshSeconds + 1;
    expect(await verifyAt(issuer, stale)).toEqual({
      ok: false,
      reason: "issuer_unavailable",
      detail: `no key matches the token's kid and the issuer's keys could not be refetched: discovery ${issuer.url}/.well-known/openid-configuration: HTTP 503`,
    });
    // Within the cooldown nothing is fetched, and the answer stays the same.
    expect(await verifyAt(issuer, stale + 1)).toMatchObject({ ok: false, reason: "issuer_unavailable" });
    expect(await issuer.stats()).toEqual({ discovery: 2, jwks: 1 });
    // A token of a key the stale set holds still verifies: stale keys serve while the issuer is down.
    expect((await verifyWorkloadToken(before, discoveryProvider(issuer.url), ctx(stale + 2))).ok).toBe(true);
  });

  it("turns a flood of 50 random kids into at most one refetch per cooldown", async () => {
    const issuer = await freshIssuer(inject("githubIssuer"));
    const now = nowSeconds();
    expect((await verifyAt(issuer, now)).ok).toBe(true);
    const flood = now + JWKS_CACHE_DEFAULTS.refetchCooldownSeconds + 1;
    const tokens = await Promise.all(Array.from({ length: 50 }, () => issuer.mint({ claims: { sub: "s", aud: SERVICE }, now: flood, header: { kid: crypto.randomUUID() } })));
    const concurrent = await Promise.all(tokens.map((t) => verifyWorkloadToken(t, discoveryProvider(issuer.url), ctx(flood))));
    expect(concurrent.every((r) => !r.ok && r.reason === "unknown_key")).toBe(true);
    for (const t of tokens) expect(await verifyWorkloadToken(t, discoveryProvider(issuer.url), ctx(flood + 5))).toMatchObject({ ok: false, reason: "unknown_key" });
    expect(await issuer.stats()).toEqual({ discovery: 2, jwks: 2 });
  });
});

/** A JSON response as an issuer would send it. */
function json(body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { headers: { "Content-Type": "application/json", ...headers } });
}

const ISSUER = "https://issuer.example.com";
const SOURCE: DiscoverySource = { issuer: ISSUER, discoveryUrl: ISSUER };
const JWK_EC = { kty: "EC", crv: "P-256", x: "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", y: "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0", kid: "k1" };

/** An issuer behind an injected fetch, counting requests; `jwks` may be replaced between calls. */
function fakeIssuer(options: { jwksHeaders?: Record<string, string>; discovery?: unknown } = {}) {
  const calls: string[] = [];
  const state = { jwks: { keys: [JWK_EC] } as unknown, failing: false };
  const fetchFn: typeof fetch = async (input) => {
    const url = String(input);
    calls.push(url);
    if (state.failing) return new Response("down", { status: 503 });
    if (url === `${ISSUER}/.well-known/openid-configuration`) return json(options.discovery ?? { issuer: ISSUER, jwks_uri: `${ISSUER}/jwks` });
    if (url === `${ISSUER}/jwks`) return json(state.jwks, options.jwksHeaders);
    return new Response("not found", { status: 404 });
  };
  return { calls, state, fetchFn };
}

/** A KV namespace of its own per test: the fake issuer's URL is the same in every test. */
async function isolatedCall(nowMs: number): Promise<CacheCall> {
  const keys = await env.JWKS_CACHE.list();
  await Promise.all(keys.keys.map((k) => env.JWKS_CACHE.delete(k.name)));
  return { kv: env.JWKS_CACHE, allowHttpLoopback: false, nowMs };
}

describe("JWKS cache limits (injected fetch)", () => {
  it.each([
    ["max-age=120", 120],
    ["public, max-age=5", JWKS_CACHE_DEFAULTS.minFreshSeconds],
    ["max-age=999999", JWKS_CACHE_DEFAULTS.maxFreshSeconds],
    ["no-store", JWKS_CACHE_DEFAULTS.minFreshSeconds],
  ])("honours Cache-Control %s within bounds (fresh for %i s)", async (cacheControl, freshSeconds) => {
    const issuer = fakeIssuer({ jwksHeaders: { "Cache-Control": cacheControl } });
    const cache = new JwksCache({ fetch: issuer.fetchFn });
    const t0 = 1_700_000_000_000;
    const call = at(await isolatedCall(t0), t0);
    expect((await cache.keysFor(SOURCE, call)).ok).toBe(true);
    expect((await cache.keysFor(SOURCE, at(call, t0 + freshSeconds * 1000 - 1))).ok).toBe(true);
    expect(issuer.calls).toHaveLength(2);
    expect((await cache.keysFor(SOURCE, at(call, t0 + freshSeconds * 1000))).ok).toBe(true);
    expect(issuer.calls).toHaveLength(4);
  });

  it("refuses a discovery document naming another issuer", async () => {
    const issuer = fakeIssuer({ discovery: { issuer: "https://evil.example.com", jwks_uri: `${ISSUER}/jwks` } });
    const cache = new JwksCache({ fetch: issuer.fetchFn });
    expect(await cache.keysFor(SOURCE, await isolatedCall(Date.now()))).toEqual({
      ok: false,
      reason: "issuer_unavailable",
      detail: `issuer keys could not be fetched: discovery ${ISSUER}/.well-known/openid-configuration: discovery issuer does not match the configured issuer`,
    });
    expect(issuer.calls).toEqual([`${ISSUER}/.well-known/openid-configuration`]);
  });

  it("refuses a jwks_uri that breaks the issuer-URL rule", async () => {
    const issuer = fakeIssuer({ discovery: { issuer: ISSUER, jwks_uri: "http://issuer.example.com/jwks" } });
    const cache = new JwksCache({ fetch: issuer.fetchFn });
    expect((await cache.keysFor(SOURCE, await isolatedCall(Date.now()))).ok).toBe(false);
    expect(issuer.calls).toHaveLength(1);
  });

  it("refuses a JWKS with too many keys or none usable, keeping the old keys", async () => {
    const issuer = fakeIssuer();
    const cache = new JwksCache({ fetch: issuer.fetchFn, maxKeys: 3 });
    const t0 = Date.now();
    const call = await isolatedCall(t0);
    const first = await cache.keysFor(SOURCE, call);
    expect(first.ok).toBe(true);
    issuer.state.jwks = { keys: Array.from({ length: 4 }, (_, i) => ({ ...JWK_EC, kid: `k${i}` })) };
    const later = at(call, t0 + HOUR * 1000);
    const stale = await cache.keysFor(SOURCE, later);
    expect(stale.ok && first.ok && stale.value === first.value).toBe(true);
    issuer.state.jwks = { keys: [{ kty: "oct", k: "c2VjcmV0" }] };
    const stillStale = await cache.keysFor(SOURCE, at(later, later.nowMs + HOUR * 1000));
    expect(stillStale.ok && first.ok && stillStale.value === first.value).toBe(true);
    expect(issuer.calls).toHaveLength(6);
  });

  it("gives up on a slow issuer after the timeout", async () => {
    const hanging: typeof fetch = (_input, init) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener("abort", () => reject(init.signal?.reason));
      });
    const cache = new JwksCache({ fetch: hanging, fetchTimeoutMs: 50 });
    const started = Date.now();
    expect(await cache.keysFor(SOURCE, await isolatedCall(Date.now()))).toEqual({
      ok: false,
      reason: "issuer_unavailable",
      detail: `issuer keys could not be fetched: discovery ${ISSUER}/.well-known/openid-configuration: timed out after 50 ms`,
    });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("lets a request that joins another's fetch wait only as long as its own timeout", async () => {
    const issuer = fakeIssuer();
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Ignores the abort signal: the first caller stays stuck until the gate opens.
    const stuck: typeof fetch = async (input, init) => {
      await gate;
      return issuer.fetchFn(input, init);
    };
    const cache = new JwksCache({ fetch: stuck, fetchTimeoutMs: 50 });
    const call = await isolatedCall(Date.now());
    const first = cache.keysFor(SOURCE, call);
    expect(await cache.keysFor(SOURCE, call)).toEqual({
      ok: false,
      reason: "issuer_unavailable",
      detail: `issuer keys could not be fetched: timed out after 50 ms waiting for the fetch from ${ISSUER}/.well-known/openid-configuration under way`,
    });
    release();
    expect((await first).ok).toBe(true);
  });

  it("names the jwks_uri and how it failed, in the detail and in the log", async () => {
    const issuer = fakeIssuer();
    const failingJwks: typeof fetch = async (input, init) => (String(input) === `${ISSUER}/jwks` ? new Response("bad gateway", { status: 502 }) : issuer.fetchFn(input, init));
    const cache = new JwksCache({ fetch: failingJwks });
    const warnings: string[] = [];
    const spy = vi.spyOn(console, "warn").mockImplementation((line: unknown) => {
      warnings.push(String(line));
    });
    try {
      expect(await cache.keysFor(SOURCE, await isolatedCall(Date.now()))).toEqual({
        ok: false,
        reason: "issuer_unavailable",
        detail: `issuer keys could not be fetched: jwks_uri ${ISSUER}/jwks: HTTP 502`,
      });
    } finally {
      spy.mockRestore();
    }
    expect(warnings.map((w) => JSON.parse(w) as unknown)).toEqual([{ event: "jwks_fetch_failed", issuer: ISSUER, fetch: "jwks_uri", url: `${ISSUER}/jwks`, detail: "HTTP 502" }]);
  });

  it("ignores a KV entry that is not a valid cache document", async () => {
    const issuer = fakeIssuer();
    const cache = new JwksCache({ fetch: issuer.fetchFn });
    const call = await isolatedCall(Date.now());
    // The broken entry was written a while ago (KV allows one write per key per second).
    clockAt(call.nowMs - 60_000);
    await env.JWKS_CACHE.put(await jwksKvKey(SOURCE), JSON.stringify({ v: 1, issuer: ISSUER, keys: [{ kty: "oct", k: "c2VjcmV0" }], fetchedAt: call.nowMs, freshUntil: call.nowMs + 1e9 }));
    expect((await cache.keysFor(SOURCE, at(call, call.nowMs))).ok).toBe(true);
    expect(issuer.calls).toHaveLength(2);
  });

  it("writes KV through waitUntil when one is given, with a TTL covering the stale window", async () => {
    const issuer = fakeIssuer();
    const cache = new JwksCache({ fetch: issuer.fetchFn });
    const pending: Promise<unknown>[] = [];
    const call = { ...(await isolatedCall(Date.now())), waitUntil: (p: Promise<unknown>) => pending.push(p) };
    expect((await cache.keysFor(SOURCE, call)).ok).toBe(true);
    expect(pending).toHaveLength(1);
    await Promise.all(pending);
    const listed = await env.JWKS_CACHE.list();
    expect(listed.keys.map((k) => k.name)).toEqual([await jwksKvKey(SOURCE)]);
    const expiration = listed.keys[0]?.expiration ?? 0;
    expect(expiration).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) + JWKS_CACHE_DEFAULTS.maxStaleSeconds - 5);
  });

  it("keys the cache by issuer and discovery URL, and accepts either form of the discovery URL", async () => {
    expect(await jwksKvKey({ issuer: ISSUER, discoveryUrl: ISSUER })).toBe(await jwksKvKey({ issuer: ISSUER, discoveryUrl: `${ISSUER}/.well-known/openid-configuration` }));
    expect(await jwksKvKey({ issuer: ISSUER, discoveryUrl: ISSUER })).not.toBe(await jwksKvKey({ issuer: `${ISSUER}/`, discoveryUrl: ISSUER }));
    expect(await jwksKvKey(SOURCE)).toMatch(/^jwks:v1:[0-9a-f]{64}$/);
  });
});
