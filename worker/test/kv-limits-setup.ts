/**
 * Every workerd test of the token server runs under Cloudflare KV's limits
 * (testkit/src/kv-limits.ts): a test whose code writes one key twice within a
 * second, or asks for an expirationTtl under 60 s or a cacheTtl under 30 s,
 * fails, even where the code under test swallows KV's error.
 */
import { env } from "cloudflare:test";
import { afterEach, beforeEach } from "vitest";
import { enforceKvLimits, resetKvWriteTimes, takeKvLimitBreaches } from "@jwt-registry-auth/testkit/kv-limits";

enforceKvLimits(env.JWKS_CACHE);

beforeEach(() => {
  resetKvWriteTimes();
  takeKvLimitBreaches();
});

afterEach(() => {
  const breaches = takeKvLimitBreaches();
  if (breaches.length > 0) throw new Error(`Cloudflare KV limits broken:\n${breaches.map((b) => `  ${b.rule} ${b.key}: ${b.detail}`).join("\n")}`);
});
