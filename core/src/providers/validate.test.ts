import { describe, expect, it } from "vitest";
import type { ProviderConfig } from "./model.ts";
import { issuerProblem, jwkProblem, pemProblem, validateProviderConfig } from "./validate.ts";

const issuer = "https://token.actions.githubusercontent.com";
const valid: ProviderConfig = {
  name: "gha",
  issuer,
  keys: { source: "discovery", discoveryUrl: `${issuer}/.well-known/openid-configuration` },
  audiences: ["registry.example.com"],
  authz: "scope.action == 'pull'",
  refreshSeconds: 3600,
};

/** What a stored row might hold after a bad hand edit: the valid config with changes. */
function stored(changes: Record<string, unknown>): unknown {
  return JSON.parse(JSON.stringify({ ...valid, ...changes }));
}

describe("validateProviderConfig", () => {
  it("accepts a normalized config as stored", () => {
    expect(validateProviderConfig(stored({}))).toEqual({ ok: true, value: valid });
    expect(validateProviderConfig(stored({ maxTokenLifetimeSeconds: 600 }))).toEqual({ ok: true, value: { ...valid, maxTokenLifetimeSeconds: 600 } });
    // The opt-out is stored for /healthz; the guard itself runs on files, so an unpinned stored row still loads.
    expect(validateProviderConfig(stored({ sharedIssuer: "unpinned-acknowledged" }))).toEqual({ ok: true, value: { ...valid, sharedIssuer: "unpinned-acknowledged" } });
    expect(validateProviderConfig(stored({ rateLimit: "strict" }))).toEqual({ ok: true, value: { ...valid, rateLimit: "strict" } });
    expect(validateProviderConfig(stored({ rateLimit: "off" }))).toEqual({ ok: true, value: { ...valid, rateLimit: "off" } });
    expect(validateProviderConfig(stored({ sourceLines: { authz: 12 } }))).toEqual({ ok: true, value: { ...valid, sourceLines: { authz: 12 } } });
  });

  it.each([
    ["not an object", [], /not a JSON object/],
    ["an unknown field", { extra: 1 }, /unknown fields: extra/],
    ["a bad name", { name: "GHA" }, /name "GHA" does not match/],
    ["a name with a colon", { name: "a:b" }, /does not match/],
    ["an http issuer", { issuer: "http://issuer.example" }, /http is only allowed to a loopback host/],
    ["a discovery URL for another issuer", { keys: { source: "discovery", discoveryUrl: "https://evil.example/.well-known/openid-configuration" } }, /does not match the issuer/],
    ["an unknown key source", { keys: { source: "magic" } }, /keys\.source "magic"/],
    ["no static keys", { keys: { source: "static", pems: [] } }, /keys\.pems must hold 1/],
    ["a non-PEM static key", { keys: { source: "static", pems: ["abc"] } }, /keys\.pems\[0\] is not a PEM block/],
    ["a symmetric JWK", { keys: { source: "jwks", jwks: { keys: [{ kty: "oct", k: "c2VjcmV0" }] } } }, /has the private member "k"/],
    ["non-string audiences", { audiences: [1] }, /audiences must be a list/],
    ["a non-string condition", { authn: true }, /authn must be a non-empty CEL string/],
    ["a refresh lifetime out of bounds", { refreshSeconds: 5 }, /refreshSeconds must be 0 or/],
    ["a fractional refresh lifetime", { refreshSeconds: 3600.5 }, /refreshSeconds/],
    ["an unknown sharedIssuer value", { sharedIssuer: "yes" }, /sharedIssuer must be "unpinned-acknowledged" or absent/],
    ["a rateLimit spelled default (stored as absent)", { rateLimit: "default" }, /rateLimit must be "off", "strict" or absent/],
    ["an unknown rateLimit", { rateLimit: 10 }, /rateLimit must be/],
    ["a max token lifetime under a minute", { maxTokenLifetimeSeconds: 59 }, /maxTokenLifetimeSeconds must be a whole number of seconds from 60/],
    ["a max token lifetime over a year", { maxTokenLifetimeSeconds: 367 * 86400 }, /maxTokenLifetimeSeconds must be/],
    ["a max token lifetime as a string", { maxTokenLifetimeSeconds: "24h" }, /maxTokenLifetimeSeconds must be/],
    ["sourceLines not an object", { sourceLines: 3 }, /sourceLines must be an object/],
    ["a source line for an absent condition", { sourceLines: { authn: 3 } }, /sourceLines has an entry without a condition: authn/],
    ["a source line of 0", { sourceLines: { authz: 0 } }, /sourceLines\.authz must be a positive integer/],
    ["a fractional source line", { sourceLines: { authz: 1.5 } }, /sourceLines\.authz must be a positive integer/],
  ])("rejects %s", (_label, changes, expected) => {
    const result = validateProviderConfig(Array.isArray(changes) ? changes : stored(changes));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toMatch(expected);
  });
});

describe("field rules", () => {
  it("allows http only for loopback issuers", () => {
    expect(issuerProblem("http://127.0.0.1:8080/gh")).toBeUndefined();
    expect(issuerProblem("http://localhost:1/x")).toBeUndefined();
    expect(issuerProblem("http://10.0.0.1/x")).toMatch(/https/);
    expect(issuerProblem("https://issuer.example/?q=1")).toMatch(/query/);
    expect(issuerProblem("not a url")).toMatch(/not an absolute URL/);
  });

  it("takes one SPKI or certificate PEM block, never a private key", () => {
    const body = btoa(String.fromCharCode(0x30, ...new Array<number>(40).fill(1)));
    expect(pemProblem(`-----BEGIN PUBLIC KEY-----\n${body}\n-----END PUBLIC KEY-----\n`)).toBeUndefined();
    expect(pemProblem(`-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----`)).toBeUndefined();
    expect(pemProblem(`-----BEGIN EC PRIVATE KEY-----\n${body}\n-----END EC PRIVATE KEY-----`)).toMatch(/private key/);
    expect(pemProblem(`-----BEGIN RSA PUBLIC KEY-----\n${body}\n-----END RSA PUBLIC KEY-----`)).toMatch(/expected PUBLIC KEY/);
    expect(pemProblem(`-----BEGIN PUBLIC KEY-----\n${body}\n-----END PUBLIC KEY-----\n`.repeat(2))).toMatch(/more than one/);
    expect(pemProblem(`-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----`)).toMatch(/DER/);
  });

  it("takes public signing JWKs only", () => {
    expect(jwkProblem({ kty: "RSA", n: "xyz", e: "AQAB", alg: "RS256", use: "sig" })).toBeUndefined();
    expect(jwkProblem({ kty: "OKP", crv: "Ed25519", x: "abc" })).toBeUndefined();
    expect(jwkProblem({ kty: "RSA", n: "xyz", e: "AQAB", d: "secret" })).toMatch(/private member "d"/);
    expect(jwkProblem({ kty: "RSA", n: "xyz", e: "AQAB", alg: "HS256" })).toMatch(/not allowed/);
    expect(jwkProblem({ kty: "RSA", n: "xyz", e: "AQAB", use: "enc" })).toMatch(/only "sig"/);
    expect(jwkProblem({ kty: "EC", crv: "secp256k1", x: "a", y: "b" })).toMatch(/unsupported EC curve/);
  });
});
