import { env } from "cloudflare:test";
import { exportSPKI, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWK } from "jose";
import { describe, expect, inject, it } from "vitest";
import type { ProviderConfig } from "@jwt-registry-auth/core/providers/model";
import { jwksFromPems } from "./static-keys.ts";
import { freshIssuer, publicPart, type TestIssuer } from "./test-issuer.ts";
import { verifyWorkloadToken, type VerifyContext } from "./verify-workload-token.ts";

const SERVICE = "registry.example.com";
const ctx: VerifyContext = { service: SERVICE, kv: env.JWKS_CACHE, allowHttpLoopback: true };

/** An RSA key and a self-signed certificate for it (made with openssl; public material only). */
const FIXTURE_CERT = `-----BEGIN CERTIFICATE-----
MIIDPjCCAiagAwIBAgITMlNOaGqXWPExkK3WL0f8VYLuIDANBgkqhkiG9w0BAQsF
ADAvMS0wKwYDVQQDDCRqd3QtcmVnaXN0cnktYXV0aCBzdGF0aWMga2V5IGZpeHR1
cmUwHhcNMjYxMTI5MTI0NDU1WhcNMzYxMTI2MTI0NDU1WjAvMS0wKwYDVQQDDCRq
d3QtcmVnaXN0cnktYXV0aCBzdGF0aWMga2V5IGZpeHR1cmUwggEiMA0GCSqGSIb3
DQEBAQUAA4IBDwAwggEKAoIBAQCyxGIO5PybizYnHIjftAxlyHn8bKFVw3a+h+6p
XjCrb/QKEj+wTlUPvNiZ6uAR6rC2MjGpQ6I5IZVnGqvusKql9LYmj2Now4S/GZhI
ie6X01da2X8ezFYA1mSYSrf8FT90xzSeAJVShCYKXMoNC3yfnkWbfrO34abc3qa1
x92TBwSwTKrTomZvnyXnXFunPan7cTwUy+7aMP6pu2qA97M3hc8Yc6gxx40cPR22
kLTo2TQ+U+hHSCzG+uMz/3jsKf/fLkyTCKXMwKxIx8PM3jT9b7U1gXLMPD04Spwp
+hA7oWclnHIQ4ZvUO5dqSxz/hMTpF+EiyqdcuAQPmTRozyD/AgMBAAGjUzBRMB0G
A1UdDgQWBBSojVOXB6NT0O4w5Tm5emlc0XQrLDAfBgNVHSMEGDAWgBSojVOXB6NT
0O4w5Tm5emlc0XQrLDAPBgNVHRMBAf8EBTADAQH/MA0GCSqGSIb3DQEBCwUAA4IB
AQBl+AAej8sCrlCEoDs/DqYtvu3pTUAdBP0Qc5saFaKrvL1AltsfQ6jKTmdneqB7
URdKIXn1yaLvQkFSa7qem69s9ckeDn7lftyzQIMpdQdfAgU9QS4HcvZ4V6vIv1JK
ZBQwJl+bJ62CqGXQNs0+oNoiYMElsYt/DYcVFBCUS2tJkDu2msrTvGI6NOuf4ps9
WAIx8LYXxczyP0VdQ7QxWyymAYAa4LJzZXXPzytxVZMVfcYaZpucUK+0e+n7z6dm
WpmAeSdF04jl1Kgzyo0EmyNSWL5+dTqv/ADN8dVfkO47zQA0vKhmgS61tLuF/oLt
6joxeF9vB7CbkOhzS8eQZN7v
-----END CERTIFICATE-----
`;
const FIXTURE_SPKI = `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAssRiDuT8m4s2JxyI37QM
Zch5/GyhVcN2vofuqV4wq2/0ChI/sE5VD7zYmergEeqwtjIxqUOiOSGVZxqr7rCq
pfS2Jo9jaMOEvxmYSInul9NXWtl/HsxWANZkmEq3/BU/dMc0ngCVUoQmClzKDQt8
n55Fm36zt+Gm3N6mtcfdkwcEsEyq06Jmb58l51xbpz2p+3E8FMvu2jD+qbtqgPez
N4XPGHOoMceNHD0dtpC06Nk0PlPoR0gsxvrjM/947Cn/3y5MkwilzMCsSMfDzN40
/W+1NYFyzDw9OEqcKfoQO6FnJZxyEOGb1DuXaksc/4TE6RfhIsqnXLgED5k0aM8g
/wIDAQAB
-----END PUBLIC KEY-----
`;

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
    expect(await verifyWorkloadToken(withKid, provider, ctx)).toMatchObject({ ok: true, identity: { subject: "system:serviceaccount:ns:sa" } });
    const withoutKid = await (await issuerKey(issuer)).sign({});
    expect((await verifyWorkloadToken(withoutKid, provider, ctx)).ok).toBe(true);
    expect(await issuer.stats()).toEqual({ discovery: 0, jwks: 0 });
  });

  it("verify EdDSA (Ed25519) tokens", async () => {
    const { publicKey, privateKey } = await generateKeyPair("EdDSA", { extractable: true });
    const provider = staticProvider("https://ci.example.com", [await exportSPKI(publicKey)]);
    const token = await new SignJWT({ iss: "https://ci.example.com", aud: SERVICE, sub: "job-1" }).setProtectedHeader({ alg: "EdDSA" }).setExpirationTime("5m").sign(privateKey);
    expect(await verifyWorkloadToken(token, provider, ctx)).toMatchObject({ ok: true, identity: { subject: "job-1" } });
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

describe("jwksFromPems", () => {
  it("reads a certificate as the key it certifies", async () => {
    const fromCert = await jwksFromPems([FIXTURE_CERT]);
    expect(fromCert.ok).toBe(true);
    expect(fromCert).toEqual(await jwksFromPems([FIXTURE_SPKI]));
    expect(fromCert.ok && fromCert.value[0]).toMatchObject({ kty: "RSA", e: "AQAB" });
    expect(fromCert.ok && fromCert.value[0]).not.toHaveProperty("alg");
  });

  it("reads several PEM blocks from one entry", async () => {
    const both = await jwksFromPems([`${FIXTURE_SPKI}\n${FIXTURE_CERT}`]);
    expect(both.ok && both.value).toHaveLength(2);
  });

  it.each([
    [[], "no static keys"],
    [["hello"], "static key 1 is not a PEM public key or certificate"],
    [[FIXTURE_SPKI, "-----BEGIN RSA PUBLIC KEY-----\nMAo=\n-----END RSA PUBLIC KEY-----"], "static key 2 is not a PEM public key or certificate"],
    [["-----BEGIN PUBLIC KEY-----\nMAo=\n-----END PUBLIC KEY-----"], "static key 1 is not an RSA, EC (P-256/384/521) or Ed25519 public key"],
  ])("refuses %j", async (pems, detail) => {
    expect(await jwksFromPems(pems)).toEqual({ ok: false, detail });
  });
});
