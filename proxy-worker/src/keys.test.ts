import { env } from "cloudflare:test";
import { errors as joseErrors, type FlattenedJWSInput, type JSONWebKeySet, type JWK } from "jose";
import { describe, expect, it } from "vitest";
import { createKeyCache, jwksFromPem, KeySourceError, parseJwks, type KeyCacheOptions } from "./keys.ts";

const TOKEN: FlattenedJWSInput = { payload: "", signature: "" };
const testJwks = JSON.parse(env.TEST_JWKS) as { keys: JWK[] };
const knownKid = testJwks.keys[0]?.kid as string;

async function ecJwk(kid: string): Promise<JWK> {
  const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const jwk = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as JWK;
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, kid, alg: "ES256" };
}

/** A loader whose answers the test steers, and a clock it moves. */
function harness(options: Partial<KeyCacheOptions> = {}) {
  const state = { now: 1_000_000, loads: 0, next: testJwks as JSONWebKeySet | Error };
  const cache = createKeyCache(
    async () => {
      state.loads++;
      await Promise.resolve();
      if (state.next instanceof Error) throw state.next;
      return state.next;
    },
    { maxAgeMs: 60_000, staleMaxMs: 600_000, cooldownMs: 10_000, timeoutMs: 1_000, now: () => state.now, ...options },
  );
  return { state, cache };
}

describe("the key cache", () => {
  it("loads once for many verifications, and concurrent first uses share one load", async () => {
    const { state, cache } = harness();
    await Promise.all([cache.ready(), cache.ready(), cache.getKey({ alg: "ES256", kid: knownKid }, TOKEN)]);
    for (let i = 0; i < 10; i++) await cache.getKey({ alg: "ES256", kid: knownKid }, TOKEN);
    expect(state.loads).toBe(1);
  });

  it("reloads once the keys are older than maxAge", async () => {
    const { state, cache } = harness();
    await cache.ready();
    state.now += 59_000;
    await cache.ready();
    expect(state.loads).toBe(1);
    state.now += 2_000;
    await cache.ready();
    expect(state.loads).toBe(2);
  });

  it("refetches for an unknown kid (a rotated-in key), at most once per cooldown", async () => {
    const { state, cache } = harness();
    await cache.ready();
    const rotated = await ecJwk("next-key");
    state.next = { keys: [...testJwks.keys, rotated] };
    state.now += 11_000;
    await expect(cache.getKey({ alg: "ES256", kid: "next-key" }, TOKEN)).resolves.toBeDefined();
    expect(state.loads).toBe(2);
    // Unknown kids right after: refused without another fetch.
    for (let i = 0; i < 5; i++) await expect(cache.getKey({ alg: "ES256", kid: "bogus" }, TOKEN)).rejects.toBeInstanceOf(joseErrors.JWKSNoMatchingKey);
    expect(state.loads).toBe(2);
    state.now += 11_000;
    await expect(cache.getKey({ alg: "ES256", kid: "bogus" }, TOKEN)).rejects.toBeInstanceOf(joseErrors.JWKSNoMatchingKey);
    expect(state.loads).toBe(3);
  });

  it("keeps using old keys while the source fails, up to staleMax", async () => {
    const { state, cache } = harness();
    await cache.ready();
    state.next = new KeySourceError("down");
    state.now += 61_000;
    await expect(cache.getKey({ alg: "ES256", kid: knownKid }, TOKEN)).resolves.toBeDefined();
    expect(state.loads).toBe(2);
    // Within the cooldown after the failure, no new attempt.
    state.now += 1_000;
    await cache.ready();
    expect(state.loads).toBe(2);
    state.now += 600_000;
    await expect(cache.ready()).rejects.toThrow("down");
  });

  it("with no keys at all, fails with KeySourceError and does not retry within the cooldown", async () => {
    const { state, cache } = harness();
    state.next = new Error("socket hang up");
    await expect(cache.ready()).rejects.toBeInstanceOf(KeySourceError);
    await expect(cache.ready()).rejects.toBeInstanceOf(KeySourceError);
    expect(state.loads).toBe(1);
    state.now += 10_001;
    state.next = testJwks;
    await cache.ready();
    expect(state.loads).toBe(2);
  });
});

describe("inline keys", () => {
  it("a PEM certificate yields the same key and kid as the token server's JWKS", async () => {
    const jwks = await jwksFromPem(`junk before\n${env.TEST_CERT}\njunk after`);
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: "EC", crv: "P-256", kid: knownKid, alg: "ES256", x: testJwks.keys[0]?.x });
  });

  it("an RSA public key is accepted without an alg, so RS256/384/512 can all select it", async () => {
    const pair = (await crypto.subtle.generateKey({ name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const spki = new Uint8Array((await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer);
    const pem = `-----BEGIN PUBLIC KEY-----\n${btoa(String.fromCharCode(...spki))}\n-----END PUBLIC KEY-----`;
    const [key] = (await jwksFromPem(`${pem}\n${env.TEST_CERT}`)).keys;
    expect(key?.kty).toBe("RSA");
    expect(key?.alg).toBeUndefined();
  });

  it("refuses PEM without a certificate or public key", async () => {
    await expect(jwksFromPem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")).rejects.toBeInstanceOf(KeySourceError);
    await expect(jwksFromPem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----")).rejects.toBeInstanceOf(KeySourceError);
  });

  it("keeps only public EC/RSA signature keys of a JWKS", async () => {
    const ec = await ecJwk("a");
    const jwks = parseJwks(JSON.stringify({ keys: [ec, { ...ec, kid: "enc", use: "enc" }, { ...ec, kid: "private", d: "x" }, { kty: "oct", k: "c2VjcmV0" }] }), "TOKEN_JWKS");
    expect(jwks.keys.map((k) => k.kid)).toEqual(["a"]);
  });

  it.each(["not json", "{}", '{"keys":"x"}', '{"keys":[{"kty":"oct","k":"eA"}]}', "null"])("refuses %s", (text) => {
    expect(() => parseJwks(text, "TOKEN_JWKS")).toThrow(KeySourceError);
  });
});
