import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { checkGet, checkPut, kvLimitsEnforced, takeKvLimitBreaches } from "@jwt-registry-auth/testkit/kv-limits";

describe("the KV-limits wrapper every workerd test runs under", () => {
  it("is active on this suite's KV binding", () => {
    expect(kvLimitsEnforced()).toBe(true);
  });

  it("refuses and records a second write of one key within a second, a short expirationTtl and a short cacheTtl", async () => {
    await env.JWKS_CACHE.put("limits:a", "1", { expirationTtl: 60 });
    await expect(env.JWKS_CACHE.put("limits:a", "2", { expirationTtl: 60 })).rejects.toThrow(/KV limit: limits:a: written again after \d+ ms/);
    await expect(env.JWKS_CACHE.put("limits:b", "1", { expirationTtl: 59 })).rejects.toThrow(/expirationTtl 59 s/);
    await expect(env.JWKS_CACHE.get("limits:a", { type: "text", cacheTtl: 29 })).rejects.toThrow(/cacheTtl 29 s/);
    expect(await env.JWKS_CACHE.get("limits:a", { type: "text", cacheTtl: 30 })).toBe("1");
    expect(takeKvLimitBreaches().map((b) => b.rule)).toEqual(["write-rate", "expiration-ttl", "cache-ttl"]);
  });

  it("checks absolute expirations and lets writes a second apart through", () => {
    const writes = new Map<string, number>();
    const now = 1_800_000_000_000;
    expect(checkPut(writes, "k", { expiration: now / 1000 + 59 }, now).map((b) => b.rule)).toEqual(["expiration"]);
    expect(checkPut(writes, "k", { expiration: now / 1000 + 3600 }, now + 1_000)).toEqual([]);
    expect(checkPut(writes, "k", undefined, now + 1_999).map((b) => b.rule)).toEqual(["write-rate"]);
    expect(checkGet("k", "json")).toEqual([]);
    expect(checkGet("k", { cacheTtl: 5 }).map((b) => b.rule)).toEqual(["cache-ttl"]);
  });
});
