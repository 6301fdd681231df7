import { env } from "cloudflare:test";
import { CompactSign, exportSPKI, importJWK, SignJWT, type JWK } from "jose";
import { describe, expect, inject, it } from "vitest";
import { discoveryProvider, freshIssuer, publicPart } from "./test-issuer.ts";
import { MAX_TOKEN_BYTES, verifyWorkloadToken, type VerifyContext } from "./verify-workload-token.ts";

const SERVICE = "registry.example.com";
const ctx = (overrides: Partial<VerifyContext> = {}): VerifyContext => ({ service: SERVICE, kv: env.JWKS_CACHE, allowHttpLoopback: true, ...overrides });
const nowSeconds = () => Math.floor(Date.now() / 1000);
const b64url = (text: string) => btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

/** A GitHub-like (RS256) issuer of its own, and a provider for it. */
async function githubLike() {
  const issuer = await freshIssuer(inject("githubIssuer"));
  return { issuer, provider: discoveryProvider(issuer.url) };
}

/** One issuer for the tests that neither count its fetches nor change it. */
const shared = await githubLike();

describe("verifyWorkloadToken accepts", () => {
  it("an RS256 token from the issuer, for the requested service", async () => {
    const { issuer, provider } = shared;
    const token = await issuer.mint({ claims: { sub: "repo:acme/app:ref:refs/heads/main", aud: SERVICE, repository_owner: "acme" }, expiresIn: 300 });
    const result = await verifyWorkloadToken(token, provider, ctx());
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.subject).toBe("repo:acme/app:ref:refs/heads/main");
    expect(result.value.claims["repository_owner"]).toBe("acme");
    expect(result.value.claims["iss"]).toBe(issuer.url);
    expect(result.value.expiresAt).toBe(result.value.claims["exp"]);
    expect(result.value.expiresAt).toBeGreaterThan(nowSeconds() + 200);
  });

  it("an ES256 token whose aud array holds https:// + service", async () => {
    const issuer = await freshIssuer(inject("clusterIssuer"));
    const token = await issuer.mint({ claims: { sub: "system:serviceaccount:ci:builder", aud: ["https://kubernetes.default.svc", `https://${SERVICE}`] } });
    const result = await verifyWorkloadToken(token, discoveryProvider(issuer.url), ctx());
    expect(result).toMatchObject({ ok: true, value: { subject: "system:serviceaccount:ci:builder" } });
  });

  it("a configured audience, and then no longer the service itself", async () => {
    const { issuer } = shared;
    const provider = discoveryProvider(issuer.url, { audiences: ["https://github.com/acme"] });
    const ok = await issuer.mint({ claims: { sub: "s", aud: "https://github.com/acme" } });
    expect((await verifyWorkloadToken(ok, provider, ctx())).ok).toBe(true);
    const forService = await issuer.mint({ claims: { sub: "s", aud: SERVICE } });
    expect(await verifyWorkloadToken(forService, provider, ctx())).toMatchObject({ ok: false, reason: "wrong_audience" });
  });

  it("exp within the 60 s leeway, but not beyond it", async () => {
    const { issuer, provider } = shared;
    const now = nowSeconds();
    const justExpired = await issuer.mint({ claims: { sub: "s", aud: SERVICE }, now: now - 300, expiresIn: 300 - 59 });
    expect((await verifyWorkloadToken(justExpired, provider, ctx({ now }))).ok).toBe(true);
    const expired = await issuer.mint({ claims: { sub: "s", aud: SERVICE }, now: now - 300, expiresIn: 300 - 61 });
    expect(await verifyWorkloadToken(expired, provider, ctx({ now }))).toEqual({ ok: false, reason: "expired", detail: "token has expired" });
  });

  it("nbf within the leeway, but not beyond it", async () => {
    const { issuer, provider } = shared;
    const now = nowSeconds();
    const soon = await issuer.mint({ claims: { sub: "s", aud: SERVICE, nbf: now + 50 } });
    expect((await verifyWorkloadToken(soon, provider, ctx({ now }))).ok).toBe(true);
    const later = await issuer.mint({ claims: { sub: "s", aud: SERVICE, nbf: now + 120 } });
    expect(await verifyWorkloadToken(later, provider, ctx({ now }))).toMatchObject({ ok: false, reason: "not_yet_valid" });
  });
});

describe("verifyWorkloadToken without a kid in the token", () => {
  it("tries each of the issuer's keys that suits the alg", async () => {
    const { issuer, provider } = await githubLike();
    const older = await issuer.privateJwk();
    await issuer.rotate(true);
    const sign = async (jwk: JWK, claims: Record<string, unknown> = {}) =>
      new SignJWT({ iss: issuer.url, sub: "s", aud: SERVICE, ...claims }).setProtectedHeader({ alg: "RS256" }).setExpirationTime("5m").sign(await importJWK(jwk, "RS256"));
    expect((await verifyWorkloadToken(await sign(older.jwk), provider, ctx())).ok).toBe(true);
    expect((await verifyWorkloadToken(await sign((await issuer.privateJwk()).jwk), provider, ctx())).ok).toBe(true);
    expect(await verifyWorkloadToken(await sign(older.jwk, { aud: "elsewhere" }), provider, ctx())).toMatchObject({ ok: false, reason: "wrong_audience" });
    const stranger = await (await githubLike()).issuer.privateJwk();
    expect(await verifyWorkloadToken(await sign(stranger.jwk), provider, ctx())).toMatchObject({ ok: false, reason: "bad_signature" });
  });
});

describe("verifyWorkloadToken rejects", () => {
  it("a token that brings its own key in the header (jwk, jku, x5u)", async () => {
    const { issuer, provider } = shared;
    const attacker = await (await githubLike()).issuer.privateJwk();
    const token = await new SignJWT({ iss: issuer.url, sub: "s", aud: SERVICE })
      .setProtectedHeader({ alg: "RS256", jwk: publicPart(attacker.jwk), jku: `${issuer.url}/.well-known/jwks`, x5u: `${issuer.url}/cert.pem` })
      .setExpirationTime("5m")
      .sign(await importJWK(attacker.jwk, "RS256"));
    expect(await verifyWorkloadToken(token, provider, ctx())).toMatchObject({ ok: false, reason: "bad_signature" });
  });

  it("alg none", async () => {
    const { issuer, provider } = shared;
    const { kid } = await issuer.privateJwk();
    const payload = { iss: issuer.url, sub: "s", aud: SERVICE, exp: nowSeconds() + 300 };
    const token = `${b64url(JSON.stringify({ alg: "none", kid }))}.${b64url(JSON.stringify(payload))}.`;
    expect(await verifyWorkloadToken(token, provider, ctx())).toEqual({ ok: false, reason: "disallowed_alg", detail: "signing algorithm not allowed" });
  });

  it("HS256 'signed' with the issuer's public key, as JWK JSON and as PEM", async () => {
    const { issuer, provider } = shared;
    const { kid, jwk } = await issuer.privateJwk();
    const publicJwk = publicPart(jwk);
    const pem = await exportSPKI((await importJWK({ ...publicJwk, alg: "RS256" }, "RS256", { extractable: true })) as CryptoKey);
    for (const secret of [JSON.stringify(publicJwk), JSON.stringify({ ...publicJwk, kid, alg: "RS256", use: "sig" }), pem]) {
      const token = await new SignJWT({ iss: issuer.url, sub: "s", aud: SERVICE })
        .setProtectedHeader({ alg: "HS256", kid })
        .setExpirationTime("5m")
        .sign(new TextEncoder().encode(secret));
      expect(await verifyWorkloadToken(token, provider, ctx())).toMatchObject({ ok: false, reason: "disallowed_alg" });
    }
  });

  it("a wrong iss, even though the issuer's key signed it", async () => {
    const { issuer, provider } = shared;
    const token = await issuer.mint({ claims: { iss: "https://token.actions.githubusercontent.com", sub: "s", aud: SERVICE } });
    expect(await verifyWorkloadToken(token, provider, ctx())).toEqual({ ok: false, reason: "wrong_issuer", detail: "unexpected issuer" });
  });

  it("a wrong aud and a missing aud", async () => {
    const { issuer, provider } = shared;
    const wrong = await issuer.mint({ claims: { sub: "s", aud: ["other.example.com", `http://${SERVICE}`] } });
    expect(await verifyWorkloadToken(wrong, provider, ctx())).toEqual({ ok: false, reason: "wrong_audience", detail: "unexpected audience" });
    const missing = await issuer.mint({ claims: { sub: "s" } });
    expect(await verifyWorkloadToken(missing, provider, ctx())).toEqual({ ok: false, reason: "missing_claim", detail: "missing required claim aud" });
  });

  it("any token when there is no audience to compare with", async () => {
    const { issuer, provider } = shared;
    const token = await issuer.mint({ claims: { sub: "s", aud: "" } });
    expect(await verifyWorkloadToken(token, provider, ctx({ service: "" }))).toMatchObject({ ok: false, reason: "wrong_audience" });
  });

  it("a missing exp, a missing or empty sub, and wrongly typed claims", async () => {
    const { issuer, provider } = shared;
    const { kid, jwk } = await issuer.privateJwk();
    const key = await importJWK(jwk, "RS256");
    const sign = (claims: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid }).sign(key);
    const base = { iss: issuer.url, aud: SERVICE, exp: nowSeconds() + 300 };
    expect(await verifyWorkloadToken(await sign({ iss: issuer.url, aud: SERVICE, sub: "s" }), provider, ctx())).toEqual({
      ok: false,
      reason: "missing_claim",
      detail: "missing required claim exp",
    });
    expect(await verifyWorkloadToken(await sign(base), provider, ctx())).toMatchObject({ ok: false, reason: "missing_claim" });
    expect(await verifyWorkloadToken(await sign({ ...base, sub: "" }), provider, ctx())).toMatchObject({ ok: false, reason: "missing_claim" });
    expect(await verifyWorkloadToken(await sign({ ...base, sub: 42 }), provider, ctx())).toMatchObject({ ok: false, reason: "malformed" });
    expect(await verifyWorkloadToken(await sign({ ...base, sub: "s", exp: "tomorrow" }), provider, ctx())).toMatchObject({ ok: false, reason: "malformed" });
    expect(await verifyWorkloadToken(await sign({ ...base, sub: "s", nbf: "soon" }), provider, ctx())).toMatchObject({ ok: false, reason: "malformed" });
  });

  it("a lifetime beyond the provider's maximum (default 24 h), measured as exp - iat", async () => {
    const { issuer, provider } = shared;
    const now = nowSeconds();
    const DAY = 24 * 3600;
    const exceeded = { ok: false, reason: "token_lifetime_exceeded", detail: `token lifetime (exp - iat) exceeds the provider's maximum of ${DAY} s` };
    expect((await verifyWorkloadToken(await issuer.mint({ claims: { sub: "s", aud: SERVICE }, now, expiresIn: DAY }), provider, ctx({ now }))).ok).toBe(true);
    expect(await verifyWorkloadToken(await issuer.mint({ claims: { sub: "s", aud: SERVICE }, now, expiresIn: DAY + 1 }), provider, ctx({ now }))).toEqual(exceeded);
    // Year 2500.
    expect(await verifyWorkloadToken(await issuer.mint({ claims: { sub: "s", aud: SERVICE, exp: 16_725_225_600 }, now }), provider, ctx({ now }))).toEqual(exceeded);
    // An iat backdated into the past doesn't stretch the lifetime: a token issued a day ago for two days is refused.
    expect(await verifyWorkloadToken(await issuer.mint({ claims: { sub: "s", aud: SERVICE }, now: now - DAY, expiresIn: 2 * DAY }), provider, ctx({ now }))).toEqual(exceeded);
  });

  it("a lifetime beyond the maximum measured as exp - now when iat is missing", async () => {
    const { issuer, provider } = shared;
    const { kid, jwk } = await issuer.privateJwk();
    const key = await importJWK(jwk, "RS256");
    const now = nowSeconds();
    const sign = (exp: number) => new SignJWT({ iss: issuer.url, sub: "s", aud: SERVICE, exp }).setProtectedHeader({ alg: "RS256", kid }).sign(key);
    expect((await verifyWorkloadToken(await sign(now + 23 * 3600), provider, ctx({ now }))).ok).toBe(true);
    expect(await verifyWorkloadToken(await sign(now + 25 * 3600), provider, ctx({ now }))).toEqual({
      ok: false,
      reason: "token_lifetime_exceeded",
      detail: "token lifetime (exp - now) exceeds the provider's maximum of 86400 s",
    });
  });

  it("a lifetime beyond a provider's own maxTokenLifetimeSeconds", async () => {
    const { issuer } = shared;
    const provider = discoveryProvider(issuer.url, { maxTokenLifetimeSeconds: 600 });
    const now = nowSeconds();
    expect((await verifyWorkloadToken(await issuer.mint({ claims: { sub: "s", aud: SERVICE }, now, expiresIn: 300 }), provider, ctx({ now }))).ok).toBe(true);
    expect(await verifyWorkloadToken(await issuer.mint({ claims: { sub: "s", aud: SERVICE }, now, expiresIn: 3600 }), provider, ctx({ now }))).toMatchObject({
      ok: false,
      reason: "token_lifetime_exceeded",
      detail: "token lifetime (exp - iat) exceeds the provider's maximum of 600 s",
    });
  });

  it("time claims that are not whole seconds: 1e308, 1e309 (Infinity to JSON.parse), fractions", async () => {
    const { issuer, provider } = shared;
    const { kid, jwk } = await issuer.privateJwk();
    const key = await importJWK(jwk, "RS256");
    const now = nowSeconds();
    const signRaw = (claims: string) =>
      new CompactSign(new TextEncoder().encode(`{"iss":${JSON.stringify(issuer.url)},"sub":"s","aud":"${SERVICE}",${claims}}`)).setProtectedHeader({ alg: "RS256", kid }).sign(key);
    const cases: [string, string][] = [
      ["exp", '"exp":1e308'],
      ["exp", '"exp":1e309'],
      ["exp", `"exp":${now + 300}.5`],
      ["iat", `"exp":${now + 300},"iat":${now}.25`],
      ["nbf", `"exp":${now + 300},"nbf":-1e309`],
      ["iat", `"exp":${now + 300},"iat":-1e308`],
    ];
    for (const [claim, claims] of cases) {
      expect(await verifyWorkloadToken(await signRaw(claims), provider, ctx({ now }))).toEqual({ ok: false, reason: "malformed", detail: `claim ${claim} is not a whole number of seconds` });
    }
    expect((await verifyWorkloadToken(await signRaw(`"exp":${now + 300},"iat":${now},"nbf":${now}`), provider, ctx({ now }))).ok).toBe(true);
  });

  it("an iat in the future beyond the leeway", async () => {
    const { issuer, provider } = shared;
    const now = nowSeconds();
    const token = await issuer.mint({ claims: { sub: "s", aud: SERVICE, iat: now + 120 } });
    expect(await verifyWorkloadToken(token, provider, ctx({ now }))).toEqual({ ok: false, reason: "not_yet_valid", detail: "token is not valid yet (iat)" });
  });

  it("an unknown kid", async () => {
    const { issuer, provider } = shared;
    const token = await issuer.mint({ claims: { sub: "s", aud: SERVICE }, header: { kid: "not-a-known-kid" } });
    expect(await verifyWorkloadToken(token, provider, ctx())).toEqual({ ok: false, reason: "unknown_key", detail: "no key matches the token's kid" });
  });

  it("an alg the issuer's key is not published for (PS256 with an RS256 JWK)", async () => {
    const { issuer, provider } = shared;
    const { kid, jwk } = await issuer.privateJwk();
    const token = await new SignJWT({ iss: issuer.url, sub: "s", aud: SERVICE })
      .setProtectedHeader({ alg: "PS256", kid })
      .setExpirationTime("5m")
      .sign(await importJWK(jwk, "PS256"));
    expect(await verifyWorkloadToken(token, provider, ctx())).toMatchObject({ ok: false, reason: "unknown_key" });
  });

  it("an oversized token before looking at it", async () => {
    const { issuer, provider } = await githubLike();
    const padded = await issuer.mint({ claims: { sub: "s", aud: SERVICE, padding: "x".repeat(MAX_TOKEN_BYTES) } });
    expect(await verifyWorkloadToken(padded, provider, ctx())).toEqual({ ok: false, reason: "too_large", detail: `token exceeds ${MAX_TOKEN_BYTES} bytes` });
    expect(await verifyWorkloadToken("a".repeat(MAX_TOKEN_BYTES + 1), provider, ctx())).toMatchObject({ ok: false, reason: "too_large" });
    expect(await issuer.stats()).toEqual({ discovery: 0, jwks: 0 });
  });

  it.each([
    ["empty", ""],
    ["two parts", "eyJhbGciOiJSUzI1NiJ9.e30"],
    ["four parts", "a.b.c.d"],
    ["bad base64", "!!!.@@@.###"],
    ["a header that is not JSON", `${b64url("{not json")}.${b64url("{}")}.c2ln`],
    ["a header that is a JSON array", `${b64url('["RS256"]')}.${b64url("{}")}.c2ln`],
    ["a header without alg", `${b64url('{"kid":"k"}')}.${b64url("{}")}.c2ln`],
  ])("garbage: %s", async (_name, token) => {
    const { provider } = shared;
    expect(await verifyWorkloadToken(token, provider, ctx())).toMatchObject({ ok: false, reason: "malformed" });
  });

  it("a duplicate key in the header or the payload, even when correctly signed", async () => {
    const { issuer, provider } = shared;
    const { kid, jwk } = await issuer.privateJwk();
    const key = await importJWK(jwk, "RS256");
    const payload = `{"iss":${JSON.stringify(issuer.url)},"sub":"s","aud":"${SERVICE}","exp":${nowSeconds() + 300}`;
    const sign = (header: string, body: string) => new CompactSign(new TextEncoder().encode(body)).setProtectedHeader(JSON.parse(header) as { alg: string }).sign(key);
    // jose signs the header it is given; to sign duplicate-key header bytes, splice them in and sign by hand.
    const signRaw = async (header: string, body: string) => {
      const input = `${b64url(header)}.${b64url(body)}`;
      const signature = new Uint8Array(await crypto.subtle.sign("RSASSA-PKCS1-v1_5", (await importJWK(jwk, "RS256")) as CryptoKey, new TextEncoder().encode(input)));
      return `${input}.${b64url(String.fromCharCode(...signature))}`;
    };
    const header = `{"alg":"RS256","kid":"${kid}"}`;
    expect((await verifyWorkloadToken(await signRaw(header, `${payload}}`), provider, ctx())).ok).toBe(true);
    expect(await verifyWorkloadToken(await signRaw(`{"alg":"none","alg":"RS256","kid":"${kid}"}`, `${payload}}`), provider, ctx())).toEqual({
      ok: false,
      reason: "malformed",
      detail: "the token's header has a duplicate JSON key",
    });
    for (const body of [`${payload},"repository_owner":"acme","repository_owner":"evil"}`, `${payload},"sub":"other"}`, `${payload},"kubernetes.io":{"namespace":"a","namespace":"b"}}`]) {
      expect(await verifyWorkloadToken(await sign(header, body), provider, ctx())).toEqual({ ok: false, reason: "malformed", detail: "the token's payload has a duplicate JSON key" });
    }
  });

  it("a correctly signed payload that is not a JSON object", async () => {
    const { issuer, provider } = shared;
    const { kid, jwk } = await issuer.privateJwk();
    const key = await importJWK(jwk, "RS256");
    for (const payload of ["[1,2]", "123", '"sub"', "not json"]) {
      const token = await new CompactSign(new TextEncoder().encode(payload)).setProtectedHeader({ alg: "RS256", kid }).sign(key);
      expect(await verifyWorkloadToken(token, provider, ctx())).toMatchObject({ ok: false, reason: "malformed" });
    }
  });

  it("a token signed with another issuer's key under a spoofed iss and the victim's kid", async () => {
    const { issuer: victim, provider } = shared;
    const attacker = await freshIssuer(inject("githubIssuer"));
    const { kid: victimKid } = await victim.privateJwk();
    const { jwk } = await attacker.privateJwk();
    const forged = await new SignJWT({ iss: victim.url, sub: "s", aud: SERVICE })
      .setProtectedHeader({ alg: "RS256", kid: victimKid })
      .setExpirationTime("5m")
      .sign(await importJWK(jwk, "RS256"));
    expect(await verifyWorkloadToken(forged, provider, ctx())).toEqual({ ok: false, reason: "bad_signature", detail: "signature verification failed" });
    // Minted by the attacker's issuer with the victim's iss: its own kid is unknown to the victim.
    const minted = await attacker.mint({ claims: { iss: victim.url, sub: "s", aud: SERVICE } });
    expect(await verifyWorkloadToken(minted, provider, ctx())).toMatchObject({ ok: false, reason: "unknown_key" });
  });

  it("an ES256 token from the cluster issuer against an RS256 issuer's kid", async () => {
    const { issuer: victim, provider } = shared;
    const cluster = await freshIssuer(inject("clusterIssuer"));
    const { kid: victimKid } = await victim.privateJwk();
    const token = await cluster.mint({ claims: { iss: victim.url, sub: "s", aud: SERVICE }, header: { kid: victimKid } });
    expect(await verifyWorkloadToken(token, provider, ctx())).toMatchObject({ ok: false, reason: "unknown_key" });
  });

  it("an http issuer that is not loopback, without fetching anything", async () => {
    const provider = discoveryProvider("http://issuer.example.com");
    const token = await (await freshIssuer(inject("githubIssuer"))).mint({ claims: { iss: "http://issuer.example.com", sub: "s", aud: SERVICE } });
    expect(await verifyWorkloadToken(token, provider, ctx())).toEqual({ ok: false, reason: "issuer_not_allowed", detail: "issuer URL refused: http is only allowed to a loopback host" });
  });

  it("a loopback issuer when ALLOW_HTTP_LOOPBACK_ISSUERS is off", async () => {
    const { issuer, provider } = await githubLike();
    const token = await issuer.mint({ claims: { sub: "s", aud: SERVICE } });
    expect(await verifyWorkloadToken(token, provider, ctx({ allowHttpLoopback: false }))).toMatchObject({ ok: false, reason: "issuer_not_allowed" });
    expect(await issuer.stats()).toEqual({ discovery: 0, jwks: 0 });
  });

  it("a discovery URL that is refused even though the issuer is fine", async () => {
    const { issuer } = shared;
    const provider = discoveryProvider(issuer.url, { keys: { source: "discovery", discoveryUrl: "https://user:pw@issuer.example.com" } });
    const token = await issuer.mint({ claims: { sub: "s", aud: SERVICE } });
    expect(await verifyWorkloadToken(token, provider, ctx())).toEqual({ ok: false, reason: "issuer_not_allowed", detail: "issuer URL refused: URL has userinfo" });
  });

  it("with details that never contain the token or its claim values", async () => {
    const { issuer, provider } = shared;
    const secretish = "SECRET-CLAIM-VALUE";
    const cases = [
      await issuer.mint({ claims: { sub: secretish, aud: secretish } }),
      await issuer.mint({ claims: { sub: secretish, aud: SERVICE, iss: secretish } }),
      await issuer.mint({ claims: { sub: secretish, aud: SERVICE }, header: { kid: secretish } }),
      await issuer.mint({ claims: { sub: secretish, aud: SERVICE }, expiresIn: -3600 }),
      await issuer.mint({ claims: { sub: secretish, aud: SERVICE, nbf: secretish } }),
      `${b64url(JSON.stringify({ alg: secretish }))}.${b64url("{}")}.c2ln`,
    ];
    for (const token of cases) {
      const result = await verifyWorkloadToken(token, provider, ctx());
      expect(result.ok).toBe(false);
      if (result.ok) continue;
      expect(result.detail).not.toContain(secretish);
      expect(result.detail).not.toContain(token.slice(0, 20));
    }
  });
});

describe("verifyWorkloadToken with a JWK that pins its alg", () => {
  it("refuses a token whose alg differs from the JWK's alg (static inline JWKS)", async () => {
    const { issuer } = shared;
    const { kid, jwk } = await issuer.privateJwk();
    const provider = { ...discoveryProvider(issuer.url), keys: { source: "jwks" as const, jwks: { keys: [{ ...publicPart(jwk), kid, alg: "RS512" } as JWK] } } };
    const token = await issuer.mint({ claims: { sub: "s", aud: SERVICE } });
    expect(await verifyWorkloadToken(token, provider, ctx())).toMatchObject({ ok: false, reason: "unknown_key" });
  });
});
