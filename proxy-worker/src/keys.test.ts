import { env } from "cloudflare:test";
import { errors as joseErrors, type FlattenedJWSInput, type JSONWebKeySet, type JWK } from "jose";
import { describe, expect, it } from "vitest";
import { jwksFromPems, parseJwksJson } from "@jwt-registry-auth/protocol/issuer-keys";
import { authorize } from "./authorize.ts";
import { createKeyCache, createVerificationKeys, KeySourceError, type KeyCacheOptions } from "./keys.ts";

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

  it("answers an unknown kid whose refetch fails as keys unavailable (a 503), not as a bad token", async () => {
    const { state, cache } = harness();
    await cache.ready();
    state.next = new Error("connection refused");
    state.now += 11_000;
    await expect(cache.getKey({ alg: "ES256", kid: "next-key" }, TOKEN)).rejects.toBeInstanceOf(KeySourceError);
    // authorize passes that on rather than calling the token malformed.
    const signed = `${btoa(JSON.stringify({ alg: "ES256", kid: "next-key" })).replace(/=+$/, "")}.e30.c2ln`;
    state.now += 11_000;
    await expect(authorize(`Bearer ${signed}`, [], { issuer: "i", service: "s", keys: cache })).rejects.toBeInstanceOf(KeySourceError);
    // The known key still verifies meanwhile: only the unknown kid is unanswerable.
    await expect(cache.getKey({ alg: "ES256", kid: knownKid }, TOKEN)).resolves.toBeDefined();
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

describe("inline keys (the shared parser and PEM prober)", () => {
  it("a PEM certificate yields the same key and kid as the token server's JWKS", async () => {
    const jwks = await jwksFromPems([`junk before\n${env.TEST_CERT}\njunk after`]);
    expect(jwks.ok && jwks.value).toHaveLength(1);
    expect(jwks.ok && jwks.value[0]).toMatchObject({ kty: "EC", crv: "P-256", kid: knownKid, alg: "ES256", x: testJwks.keys[0]?.x });
  });

  it("an RSA public key is accepted without an alg, so RS256/384/512 can all select it", async () => {
    const pair = (await crypto.subtle.generateKey({ name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const spki = new Uint8Array((await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer);
    const pem = `-----BEGIN PUBLIC KEY-----\n${btoa(String.fromCharCode(...spki))}\n-----END PUBLIC KEY-----`;
    const jwks = await jwksFromPems([`${pem}\n${env.TEST_CERT}`]);
    const key = jwks.ok ? jwks.value[0] : undefined;
    expect(key?.kty).toBe("RSA");
    expect(key?.alg).toBeUndefined();
  });

  it("refuses PEM without a certificate or public key", async () => {
    expect((await jwksFromPems(["-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"])).ok).toBe(false);
    expect((await jwksFromPems(["-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"])).ok).toBe(false);
    await expect(createVerificationKeys({ kind: "pem", pem: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----" }).ready()).rejects.toBeInstanceOf(KeySourceError);
  });

  it("keeps only public EC/RSA signature keys of a JWKS", async () => {
    const ec = await ecJwk("a");
    const jwks = parseJwksJson(JSON.stringify({ keys: [ec, { ...ec, kid: "enc", use: "enc" }, { ...ec, kid: "private", d: "x" }, { kty: "oct", k: "c2VjcmV0" }] }));
    expect(jwks.ok && jwks.value.map((k) => k.kid)).toEqual(["a"]);
  });

  it.each(["not json", "{}", '{"keys":"x"}', '{"keys":[{"kty":"oct","k":"eA"}]}', "null"])("refuses %s", async (text) => {
    expect(parseJwksJson(text).ok).toBe(false);
    await expect(createVerificationKeys({ kind: "jwks", jwks: text }).ready()).rejects.toThrow(KeySourceError);
  });
});

/** A TOKEN_SERVER binding that answers with `make()`, counting its calls. */
function fakeBinding(make: () => Response) {
  const calls = { count: 0 };
  const fetcher = {
    fetch: async () => {
      calls.count++;
      return make();
    },
  } as unknown as Fetcher;
  return { calls, keys: createVerificationKeys({ kind: "binding", fetcher }) };
}

describe("as strict as the token server (issue 9)", () => {
  it.each([
    ["d", { d: "c2VjcmV0" }],
    ["p", { p: "c2VjcmV0" }],
    ["k", { k: "c2VjcmV0" }],
  ])("drops a key that carries the private member %s, from TOKEN_JWKS and from the token server", async (_member, secret) => {
    const good = await ecJwk("good");
    const leaked = { ...(await ecJwk("leaked")), ...secret };
    const inline = createVerificationKeys({ kind: "jwks", jwks: JSON.stringify({ keys: [good, leaked] }) });
    await expect(inline.getKey({ alg: "ES256", kid: "good" }, TOKEN)).resolves.toBeDefined();
    await expect(inline.getKey({ alg: "ES256", kid: "leaked" }, TOKEN)).rejects.toBeInstanceOf(joseErrors.JWKSNoMatchingKey);
    await expect(createVerificationKeys({ kind: "jwks", jwks: JSON.stringify({ keys: [leaked] }) }).ready()).rejects.toThrow("JWKS has no usable public signature key");
    const served = fakeBinding(() => Response.json({ keys: [leaked] }));
    await expect(served.keys.ready()).rejects.toThrow("JWKS has no usable public signature key");
  });

  it("refuses a JWKS of more than 100 keys, inline or fetched, and takes 100", async () => {
    const key = await ecJwk("k");
    const jwksOf = (n: number) => ({ keys: Array.from({ length: n }, (_, i) => ({ ...key, kid: `k${i}` })) });
    await expect(createVerificationKeys({ kind: "jwks", jwks: JSON.stringify(jwksOf(101)) }).ready()).rejects.toThrow("JWKS has more than 100 keys");
    await expect(fakeBinding(() => Response.json(jwksOf(101))).keys.ready()).rejects.toThrow("JWKS has more than 100 keys");
    await expect(fakeBinding(() => Response.json(jwksOf(100))).keys.ready()).resolves.toBeUndefined();
  });

  it("refuses an oversized JWKS body without reading it all", async () => {
    let pulled = 0;
    const endless = () =>
      new ReadableStream<Uint8Array>({
        pull(controller) {
          pulled += 64 * 1024;
          controller.enqueue(new Uint8Array(64 * 1024).fill(0x20));
        },
      });
    // Declared too large: refused before a byte is read.
    const declared = fakeBinding(() => new Response(endless(), { headers: { "Content-Length": String(10 * 1024 * 1024) } }));
    await expect(declared.keys.ready()).rejects.toThrow("response too large");
    expect(pulled).toBeLessThanOrEqual(2 * 64 * 1024);
    // Not declared: reading stops just past the cap (256 KiB), not at the end of an endless body.
    pulled = 0;
    const streamed = fakeBinding(() => new Response(endless()));
    await expect(streamed.keys.ready()).rejects.toThrow("response too large");
    expect(pulled).toBeLessThanOrEqual(256 * 1024 + 3 * 64 * 1024);
  });
});
