import { env } from "cloudflare:test";
import { exportSPKI, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWK } from "jose";
import { describe, expect, inject, it } from "vitest";
import type { ProviderConfig } from "@jwt-registry-auth/core/providers/model";
import { freshIssuer, publicPart, type TestIssuer } from "./test-issuer.ts";
import { verifyWorkloadToken, type VerifyContext } from "./verify-workload-token.ts";

const SERVICE = "registry.example.com";
const ctx: VerifyContext = { service: SERVICE, kv: env.JWKS_CACHE, allowHttpLoopback: true };

function staticProvider(issuer: string, pems: string[]): ProviderConfig {
  return { name: "static", issuer, keys: { source: "static", pems }, audiences: [], refreshSeconds: 0 };
}

/** The issuer's current public key as an SPKI PEM, and a way to sign as it. */
async function issuerKey(issuer: TestIssuer): Promise<{ pem: string; publicJwk: JWK; kid: string; sign: (claims: Record<string, unknown>, header?: Record<string, unknown>) => Promise<string> }> {
  const { alg, kid, jwk } = await issuer.privateJwk();
  const publicJwk = publicPart(jwk);
  const pem = await exportSPKI((await importJWK(publicJwk, alg, { extractable: true })) as CryptoKey);
  const privateKey = await importJWK(jwk, alg);
  const sign = (claims: Record<string, unknown>, header: Record<string, unknown> = {}) =>
    new SignJWT({ iss: issuer.url, aud: SERVICE, sub: "s", ...claims }).setProtectedHeader({ alg, ...header }).setExpirationTime("5m").sign(privateKey);
  return { pem, publicJwk, kid, sign };
}

describe("static PEM providers", () => {
  it.each([
    ["RS256", "githubIssuer"],
    ["ES256", "clusterIssuer"],
  ] as const)("verify %s tokens, with or without kid, without any fetch", async (_alg, which) => {
    const issuer = await freshIssuer(inject(which));
    const { pem } = await issuerKey(issuer);
    const provider = staticProvider(issuer.url, [pem]);
    const withKid = await issuer.mint({ claims: { sub: "system:serviceaccount:ns:sa", aud: SERVICE } });
    expect(await verifyWorkloadToken(withKid, provider, ctx)).toMatchObject({ ok: true, value: { subject: "system:serviceaccount:ns:sa" } });
    const withoutKid = await (await issuerKey(issuer)).sign({});
    expect((await verifyWorkloadToken(withoutKid, provider, ctx)).ok).toBe(true);
    expect(await issuer.stats()).toEqual({ discovery: 0, jwks: 0 });
  });

  it("verify EdDSA (Ed25519) tokens", async () => {
    const { publicKey, privateKey } = await generateKeyPair("EdDSA", { extractable: true });
    const provider = staticProvider("https://ci.example.com", [await exportSPKI(publicKey)]);
    const token = await new SignJWT({ iss: "https://ci.example.com", aud: SERVICE, sub: "job-1" }).setProtectedHeader({ alg: "EdDSA" }).setExpirationTime("5m").sign(privateKey);
    expect(await verifyWorkloadToken(token, provider, ctx)).toMatchObject({ ok: true, value: { subject: "job-1" } });
  });

  it("try every configured key for a token without kid (rotation), and refuse a key that isn't configured", async () => {
    const [old, current, stranger] = await Promise.all([0, 1, 2].map(async () => issuerKey(await freshIssuer(inject("githubIssuer")))));
    if (old === undefined || current === undefined || stranger === undefined) throw new Error("keys missing");
    const issuer = "https://ci.example.com";
    const provider = staticProvider(issuer, [old.pem, current.pem]);
    expect((await verifyWorkloadToken(await current.sign({ iss: issuer }), provider, ctx)).ok).toBe(true);
    expect((await verifyWorkloadToken(await old.sign({ iss: issuer }), provider, ctx)).ok).toBe(true);
    expect(await verifyWorkloadToken(await stranger.sign({ iss: issuer }), provider, ctx)).toEqual({ ok: false, reason: "bad_signature", detail: "signature verification failed" });
    // A claim failure with the right key is reported as such, not as a bad signature.
    expect(await verifyWorkloadToken(await current.sign({ iss: issuer, aud: "elsewhere" }), provider, ctx)).toMatchObject({ ok: false, reason: "wrong_audience" });
  });

  it("re-import a changed config instead of reusing the old keys", async () => {
    const [a, b] = await Promise.all([0, 1].map(async () => issuerKey(await freshIssuer(inject("clusterIssuer")))));
    if (a === undefined || b === undefined) throw new Error("keys missing");
    const issuer = "https://ci.example.com";
    const tokenB = await b.sign({ iss: issuer });
    expect(await verifyWorkloadToken(tokenB, staticProvider(issuer, [a.pem]), ctx)).toMatchObject({ ok: false, reason: "bad_signature" });
    expect((await verifyWorkloadToken(tokenB, staticProvider(issuer, [b.pem]), ctx)).ok).toBe(true);
    expect(await verifyWorkloadToken(tokenB, staticProvider(issuer, [a.pem]), ctx)).toMatchObject({ ok: false, reason: "bad_signature" });
  });

  it("refuse HS256 signed with the configured PEM", async () => {
    const issuer = await freshIssuer(inject("githubIssuer"));
    const { pem } = await issuerKey(issuer);
    const token = await new SignJWT({ iss: issuer.url, aud: SERVICE, sub: "s" }).setProtectedHeader({ alg: "HS256" }).setExpirationTime("5m").sign(new TextEncoder().encode(pem));
    expect(await verifyWorkloadToken(token, staticProvider(issuer.url, [pem]), ctx)).toMatchObject({ ok: false, reason: "disallowed_alg" });
  });

  it("fail closed when the configured keys are unusable", async () => {
    const issuer = await freshIssuer(inject("githubIssuer"));
    const token = await issuer.mint({ claims: { sub: "s", aud: SERVICE } });
    expect(await verifyWorkloadToken(token, staticProvider(issuer.url, ["not a pem"]), ctx)).toEqual({ ok: false, reason: "issuer_unavailable", detail: "provider keys are unusable" });
  });
});

describe("inline JWKS providers", () => {
  it("verify against the configured keys without any fetch, selecting by kid", async () => {
    const issuer = await freshIssuer(inject("clusterIssuer"));
    const other = await issuerKey(await freshIssuer(inject("clusterIssuer")));
    const { publicJwk, kid } = await issuerKey(issuer);
    const provider: ProviderConfig = {
      name: "inline",
      issuer: issuer.url,
      keys: { source: "jwks", jwks: { keys: [{ ...other.publicJwk, kid: "other" }, { ...publicJwk, kid, alg: "ES256", use: "sig" }] } },
      audiences: [],
      refreshSeconds: 0,
    };
    const token = await issuer.mint({ claims: { sub: "s", aud: SERVICE } });
    expect((await verifyWorkloadToken(token, provider, ctx)).ok).toBe(true);
    const unknown = await issuer.mint({ claims: { sub: "s", aud: SERVICE }, header: { kid: "nope" } });
    expect(await verifyWorkloadToken(unknown, provider, ctx)).toMatchObject({ ok: false, reason: "unknown_key" });
    expect(await issuer.stats()).toEqual({ discovery: 0, jwks: 0 });
  });
});
