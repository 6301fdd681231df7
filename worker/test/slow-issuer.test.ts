/**
 * A slow or failing issuer, end to end through the Worker: every request that
 * could not get the issuer's keys answers 503 with Retry-After and a
 * Distribution error body (never 401), and the log names the fetch that failed.
 */
import { env, SELF } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, inject, it, vi } from "vitest";
import { jwksKvKey, JWKS_CACHE_DEFAULTS, type StoredJwks } from "../src/identity/jwks-cache.ts";
import { freshIssuer, publicPart, type TestIssuer } from "../src/identity/test-issuer.ts";
import { ISSUER_RETRY_AFTER_SECONDS, resetIdentityCaches } from "../src/identity/verify-workload-token.ts";
import { resetPolicyCache } from "../src/policy/store.ts";
import { discoveryProvider, putProviders } from "./providers.ts";
import { captureConsole } from "./console-capture.ts";

const SERVICE = "registry.test";
const basic = (user: string, pass: string) => `Basic ${btoa(`${user}:${pass}`)}`;
/** Longer than the 5 s fetch timeout, short enough to keep the suite quick. */
const SLOW_MS = JWKS_CACHE_DEFAULTS.fetchTimeoutMs + 1_500;

let issuer: TestIssuer;
let logs: string[];
let warnings: string[];

beforeEach(async () => {
  issuer = await freshIssuer(inject("githubIssuer"));
  resetPolicyCache();
  resetIdentityCaches();
  await putProviders([discoveryProvider("gha", issuer.url)]);
  ({ logs, warnings } = captureConsole());
});

afterEach(() => {
  vi.restoreAllMocks();
});

async function concurrentRequests(n: number): Promise<Response[]> {
  const tokens = await Promise.all(Array.from({ length: n }, () => issuer.mint({ claims: { sub: "s", aud: SERVICE } })));
  return Promise.all(tokens.map((t) => SELF.fetch(`http://token.test/token?service=${SERVICE}`, { headers: { Authorization: basic("gha", t) } })));
}

async function expectAllUnavailable(responses: Response[]): Promise<void> {
  expect(responses.map((r) => r.status)).toEqual(responses.map(() => 503));
  for (const r of responses) {
    expect(r.headers.get("Retry-After")).toBe(String(ISSUER_RETRY_AFTER_SECONDS));
    expect(r.headers.get("WWW-Authenticate")).toBeNull();
    expect(await r.json()).toEqual({ errors: [{ code: "UNAVAILABLE", message: "the provider's issuer keys are unavailable", detail: { reason: "issuer_unavailable", requestId: r.headers.get("X-Request-Id") } }] });
  }
}

const requestLines = () => logs.filter((l) => l.includes('"token_request"')).map((l) => JSON.parse(l) as { status: number; reason?: string });

describe("an issuer that can't deliver its keys", () => {
  it("answers 503 to all of 20 concurrent cold requests when discovery is slower than the timeout, and logs which fetch timed out", async () => {
    await issuer.setDelay({ discoveryMs: SLOW_MS });
    await expectAllUnavailable(await concurrentRequests(20));
    const discoveryUrl = `${issuer.url}/.well-known/openid-configuration`;
    expect(warnings.map((w) => JSON.parse(w) as unknown)).toContainEqual({
      event: "jwks_fetch_failed",
      issuer: issuer.url,
      fetch: "discovery",
      url: discoveryUrl,
      detail: `timed out after ${JWKS_CACHE_DEFAULTS.fetchTimeoutMs} ms`,
    });
    const lines = requestLines();
    expect(lines).toHaveLength(20);
    for (const line of lines) {
      expect(line.status).toBe(503);
      expect(line.reason).toMatch(/^identity:issuer_unavailable: issuer keys could not be fetched: /);
      expect(line.reason).toContain(discoveryUrl);
      expect(line.reason).toMatch(/timed out after 5000 ms/);
    }
  }, 30_000);

  it("answers 503, not 401 unknown_key, to 20 concurrent requests signed by a rotated key while only stale keys are cached", async () => {
    // What KV holds from before the rotation: the old key, past its freshness but within the stale bound.
    const old = await issuer.privateJwk();
    const nowMs = Date.now();
    const stored: StoredJwks = {
      v: 1,
      issuer: issuer.url,
      discoveryUrl: `${issuer.url}/.well-known/openid-configuration`,
      jwksUri: `${issuer.url}/.well-known/jwks`,
      keys: [{ ...publicPart(old.jwk), kid: old.kid, alg: old.alg, use: "sig" }],
      fetchedAt: nowMs - 3_600_000,
      freshUntil: nowMs - 3_300_000,
    };
    await env.JWKS_CACHE.put(await jwksKvKey({ issuer: issuer.url, discoveryUrl: stored.discoveryUrl }), JSON.stringify(stored));
    await issuer.rotate();
    await issuer.setDelay({ discoveryMs: SLOW_MS });
    await expectAllUnavailable(await concurrentRequests(20));
    for (const line of requestLines()) expect(line.reason).toMatch(/^identity:issuer_unavailable: no key matches the token's kid and the issuer's keys could not be refetched: /);
  }, 30_000);

  it("answers 503 when the issuer's JWKS fails with a 5xx, naming the jwks_uri", async () => {
    await issuer.setDown(true);
    await expectAllUnavailable(await concurrentRequests(3));
    expect(warnings.map((w) => JSON.parse(w) as { fetch: string; detail: string })).toContainEqual(expect.objectContaining({ fetch: "discovery", detail: "HTTP 503" }));
  });
});
