/**
 * Abuse limits, end to end in workerd (docs/policy.md, "Abuse limits"):
 * - the token-issuance rate limits through wrangler.toml's `[[ratelimits]]`
 *   bindings (as vitest-pool-workers hands them to Miniflare), per subject and
 *   provider-wide, per the provider's `rateLimit` tier;
 * - the negative cache: a flood naming a provider whose issuer is down or dead
 *   makes one fetch attempt, not one per request.
 *
 * Miniflare's limiter counts in fixed windows of the binding's period and
 * forgets every count when a window ends, so each burst runs in {@link oneWindow}:
 * when it straddled a window boundary it is run again, with fresh keys.
 */
import { env, SELF } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, inject, it, vi } from "vitest";
import { freshIssuer, type TestIssuer } from "../src/identity/test-issuer.ts";
import { resetIdentityCaches } from "../src/identity/verify-workload-token.ts";
import { resetPolicyCache } from "../src/policy/store.ts";
import { checkRateLimit, RATE_LIMIT_BINDINGS, RATE_LIMIT_PERIOD_SECONDS, resetRateLimitWarnings } from "../src/token/rate-limit.ts";
import type { Env } from "../src/env.ts";
import worker from "../src/index.ts";
import type { ProviderConfig } from "@jwt-registry-auth/core/providers/model";
import { discoveryProvider, putProviders } from "./providers.ts";
import { captureConsole } from "./console-capture.ts";

const SERVICE = "registry.test";
const basic = (user: string, pass: string) => `Basic ${btoa(`${user}:${pass}`)}`;

function limitOf(name: string): number {
  const binding = env.TEST_RATE_LIMITS.find((b) => b.name === name);
  if (binding === undefined) throw new Error(`wrangler.toml declares no [[ratelimits]] ${name}`);
  return binding.simple.limit;
}

let issuer: TestIssuer;
let logs: string[];
let warnings: string[];

beforeEach(async () => {
  issuer = await freshIssuer(inject("githubIssuer"));
  resetPolicyCache();
  resetIdentityCaches();
  resetRateLimitWarnings();
  ({ logs, warnings } = captureConsole());
});

afterEach(() => {
  vi.restoreAllMocks();
});

const requestLines = () => logs.filter((l) => l.includes('"token_request"')).map((l) => JSON.parse(l) as { status: number; provider?: string; subject?: string; reason?: string });

/** A provider name no other test (file) counts against. */
const uniqueName = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;

async function login(provider: string, token: string, query = ""): Promise<Response> {
  return SELF.fetch(`http://token.test/token?service=${SERVICE}${query}`, { headers: { Authorization: basic(provider, token) } });
}

async function statuses(responses: Promise<Response>[]): Promise<number[]> {
  return Promise.all(responses.map(async (r) => (await r).status));
}

/** Runs `burst` (which must use fresh keys on every call) until one run fits inside one limiter window. */
async function oneWindow<T>(burst: () => Promise<T>): Promise<T> {
  const windowOf = () => Math.floor(Date.now() / (RATE_LIMIT_PERIOD_SECONDS * 1000));
  for (let attempt = 0; ; attempt++) {
    const before = windowOf();
    const result = await burst();
    if (windowOf() === before || attempt === 2) return result;
  }
}

/** `count` sequential logins, each with `token`; their statuses in order. */
async function sequential(provider: string, token: string, count: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const res = await login(provider, token);
    out.push(res.status);
    await res.body?.cancel();
  }
  return out;
}

describe("token-issuance rate limits", () => {
  it("wrangler.toml declares every binding rate-limit.ts uses, each with the period Retry-After names, and Miniflare has them", () => {
    for (const pair of Object.values(RATE_LIMIT_BINDINGS)) {
      for (const name of [pair.subject, pair.provider]) {
        expect(env.TEST_RATE_LIMITS.find((b) => b.name === name)?.simple.period).toBe(RATE_LIMIT_PERIOD_SECONDS);
        expect(typeof (env as unknown as Env)[name]?.limit).toBe("function");
      }
    }
    // Strict is stricter on both counters.
    expect(limitOf("RATE_LIMIT_SUBJECT_STRICT")).toBeLessThan(limitOf("RATE_LIMIT_SUBJECT"));
    expect(limitOf("RATE_LIMIT_PROVIDER_STRICT")).toBeLessThan(limitOf("RATE_LIMIT_PROVIDER"));
  });

  it("gives exactly one 429, with Retry-After and a Distribution error body, to N+1 logins of one subject; other subjects and providers are unaffected", async () => {
    const n = limitOf("RATE_LIMIT_SUBJECT");
    const { name, other, burst, afterwards } = await oneWindow(async () => {
      const name = uniqueName("rl");
      const other = uniqueName("rl-other");
      await putProviders([discoveryProvider(name, issuer.url), discoveryProvider(other, issuer.url)]);
      resetPolicyCache();
      const sub = `repo:acme/app:${crypto.randomUUID()}`;
      const token = await issuer.mint({ claims: { sub, aud: SERVICE } });
      const burst = await sequential(name, token, n);
      const limited = await login(name, token);
      const afterwards = {
        limited,
        limitedBody: await limited.json(),
        otherSubject: (await login(name, await issuer.mint({ claims: { sub: `${sub}:2`, aud: SERVICE } }))).status,
        sameSubjectOtherProvider: (await login(other, token)).status,
      };
      return { name, other, burst, afterwards };
    });
    expect(burst).toEqual(burst.map(() => 200));
    expect(burst).toHaveLength(n);
    expect(afterwards.limited.status).toBe(429);
    expect(afterwards.limited.headers.get("Retry-After")).toBe(String(RATE_LIMIT_PERIOD_SECONDS));
    expect(afterwards.limited.headers.get("WWW-Authenticate")).toBeNull();
    expect(afterwards.limited.headers.get("X-Request-Id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(afterwards.limitedBody).toEqual({
      errors: [{ code: "TOOMANYREQUESTS", message: `too many token requests; retry after ${RATE_LIMIT_PERIOD_SECONDS} s`, detail: { reason: "rate_limited", requestId: afterwards.limited.headers.get("X-Request-Id") } }],
    });
    expect(afterwards.otherSubject).toBe(200);
    expect(afterwards.sameSubjectOtherProvider).toBe(200);
    const limitedLines = requestLines().filter((l) => l.status === 429);
    expect(limitedLines).toHaveLength(1);
    expect(limitedLines[0]).toMatchObject({ provider: name, reason: "rate_limited:subject" });
    expect(requestLines().filter((l) => l.provider === other).map((l) => l.status)).toEqual([200]);
  }, 60_000);

  it("counts refresh-token grants against the subject, like logins", async () => {
    const n = limitOf("RATE_LIMIT_SUBJECT_STRICT");
    const result = await oneWindow(async () => {
      const name = uniqueName("rl-refresh");
      await putProviders([discoveryProvider(name, issuer.url, { rateLimit: "strict" })]);
      resetPolicyCache();
      const res = await login(name, await issuer.mint({ claims: { sub: crypto.randomUUID(), aud: SERVICE } }), "&offline_token=true&client_id=docker");
      const { refresh_token: refreshToken } = (await res.json()) as { refresh_token: string };
      const refreshes: number[] = [];
      // The login was the first of n; n more requests make n + 1.
      for (let i = 0; i < n; i++) {
        const r = await SELF.fetch("http://token.test/token", {
          method: "POST",
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken, service: SERVICE, client_id: "c" }).toString(),
        });
        refreshes.push(r.status);
        await r.body?.cancel();
      }
      return { login: res.status, refreshes };
    });
    expect(result.login).toBe(200);
    expect(result.refreshes).toEqual([...Array.from({ length: n - 1 }, () => 200), 429]);
    expect(requestLines().filter((l) => l.status === 429).map((l) => l.reason)).toEqual(["rate_limited:subject"]);
  }, 60_000);

  it("limits a provider as a whole, counting only the requests its authn admits", async () => {
    const perSubject = limitOf("RATE_LIMIT_SUBJECT_STRICT");
    const providerLimit = limitOf("RATE_LIMIT_PROVIDER_STRICT");
    const result = await oneWindow(async () => {
      const name = uniqueName("rl-provider");
      await putProviders([discoveryProvider(name, issuer.url, { rateLimit: "strict", authn: 'claims.sub != "intruder"' })]);
      resetPolicyCache();
      // A genuine token the policy refuses: its own subject's budget runs out, the provider's is untouched.
      const intruder = await sequential(name, await issuer.mint({ claims: { sub: "intruder", aud: SERVICE } }), perSubject + 3);
      // providerLimit + 1 admitted logins, spread over subjects that each stay under their own limit.
      const subjects = Math.ceil((providerLimit + 1) / (perSubject - 1));
      const tokens = await Promise.all(Array.from({ length: subjects }, (_, i) => issuer.mint({ claims: { sub: `s${i}`, aud: SERVICE } })));
      const admitted: number[] = [];
      for (let i = 0; i <= providerLimit; i++) {
        const res = await login(name, tokens[i % subjects] as string);
        admitted.push(res.status);
        await res.body?.cancel();
      }
      return { intruder, admitted };
    });
    expect(result.intruder).toEqual([...Array.from({ length: perSubject }, () => 403), 429, 429, 429]);
    expect(result.admitted).toEqual([...Array.from({ length: providerLimit }, () => 200), 429]);
    const reasons = requestLines()
      .filter((l) => l.status === 429)
      .map((l) => l.reason);
    expect(reasons).toEqual(["rate_limited:subject", "rate_limited:subject", "rate_limited:subject", "rate_limited:provider"]);
  }, 120_000);

  it("never limits a provider set to rateLimit: off", async () => {
    const name = uniqueName("rl-off");
    await putProviders([discoveryProvider(name, issuer.url, { rateLimit: "off" })]);
    const token = await issuer.mint({ claims: { sub: "busy", aud: SERVICE } });
    const burst = await sequential(name, token, limitOf("RATE_LIMIT_SUBJECT") + 5);
    expect(burst).toEqual(burst.map(() => 200));
  }, 60_000);

  it("lets requests through, with one warning, when a binding is missing or its limiter fails; off asks no binding", async () => {
    const provider: Pick<ProviderConfig, "name" | "rateLimit"> = { name: "p" };
    const bare = { JWKS_CACHE: env.JWKS_CACHE, POLICY_DB: env.POLICY_DB } as Env;
    expect(await checkRateLimit(bare, "subject", provider, "s")).toEqual({ limited: false });
    expect(await checkRateLimit(bare, "subject", provider, "s")).toEqual({ limited: false });
    const failing = { ...bare, RATE_LIMIT_PROVIDER: { limit: () => Promise.reject(new Error("limiter down")) } } as Env;
    expect(await checkRateLimit(failing, "provider", provider, "s")).toEqual({ limited: false });
    expect(warnings.map((w) => JSON.parse(w) as unknown)).toEqual([
      { event: "rate_limit_binding_missing", binding: "RATE_LIMIT_SUBJECT", detail: expect.stringMatching(/not limited/) },
      { event: "rate_limit_error", binding: "RATE_LIMIT_PROVIDER", detail: "limiter down" },
    ]);
    let asked = 0;
    const counting = { ...bare, RATE_LIMIT_SUBJECT: { limit: () => (asked++, Promise.resolve({ success: false })) } } as Env;
    expect(await checkRateLimit(counting, "subject", { name: "p", rateLimit: "off" }, "s")).toEqual({ limited: false });
    expect(asked).toBe(0);
    expect(await checkRateLimit(counting, "subject", provider, "s")).toEqual({ limited: true, kind: "subject", retryAfterSeconds: RATE_LIMIT_PERIOD_SECONDS });
  });
});

describe("negative cache for failing issuers", () => {
  it("a flood of 60 requests naming a provider whose issuer is down makes one discovery fetch", async () => {
    await putProviders([discoveryProvider("down", issuer.url)]);
    const tokens = await Promise.all(Array.from({ length: 10 }, (_, i) => issuer.mint({ claims: { sub: `s${i}`, aud: SERVICE } })));
    await issuer.setDown(true);
    const before = await issuer.stats();
    // 30 at once, then 30 one after another.
    const concurrent = await statuses(Array.from({ length: 30 }, (_, i) => login("down", tokens[i % 10] as string)));
    const later: number[] = [];
    for (let i = 0; i < 30; i++) later.push((await login("down", tokens[i % 10] as string)).status);
    expect([...concurrent, ...later]).toEqual(Array.from({ length: 60 }, () => 503));
    const after = await issuer.stats();
    expect(after.discovery - before.discovery).toBe(1);
    expect(after.jwks - before.jwks).toBe(0);
  }, 60_000);

  it("a flood of 60 requests naming a provider whose issuer does not answer at all makes one fetch attempt", async () => {
    // Nothing listens on port 9 of the loopback: every fetch would fail at once.
    const dead = `http://127.0.0.1:9/dead-${crypto.randomUUID()}`;
    await putProviders([discoveryProvider("dead", dead)]);
    const token = await issuer.mint({ claims: { sub: "s", aud: SERVICE } });
    const concurrent = await statuses(Array.from({ length: 30 }, () => login("dead", token)));
    const later: number[] = [];
    for (let i = 0; i < 30; i++) later.push((await login("dead", token)).status);
    expect([...concurrent, ...later]).toEqual(Array.from({ length: 60 }, () => 503));
    const attempts = warnings.map((w) => JSON.parse(w) as { event?: string; issuer?: string }).filter((w) => w.event === "jwks_fetch_failed" && w.issuer === dead);
    expect(attempts).toHaveLength(1);
  }, 60_000);
});

describe("/healthz and the rate-limit bindings", () => {
  const ctx = { waitUntil: () => undefined, passThroughOnException: () => undefined, props: {} } as unknown as ExecutionContext;
  const health = async (patch: Partial<Env>) =>
    (await worker.fetch(new Request("http://token.test/healthz"), { ...(env as Env), ALLOWED_SERVICES: SERVICE, ...patch }, ctx)).json() as Promise<{ productionReady: boolean; warnings?: string[] }>;

  it("is production-ready with every binding, and says which are missing otherwise", async () => {
    expect(await health({})).toMatchObject({ productionReady: true });
    const missing = await health({ [RATE_LIMIT_BINDINGS.default.subject]: undefined } as Partial<Env>);
    expect(missing.productionReady).toBe(false);
    expect(missing.warnings).toEqual([expect.stringContaining(`rate-limit bindings missing (${RATE_LIMIT_BINDINGS.default.subject})`)]);
  });
});
