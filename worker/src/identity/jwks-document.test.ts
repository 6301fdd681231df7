import { describe, expect, it } from "vitest";
import { parseDiscovery, parseJwks, publicJwk } from "./jwks-document.ts";

const RSA = { kty: "RSA", n: "sXch", e: "AQAB", kid: "r1", alg: "RS256", use: "sig" };
const EC = { kty: "EC", crv: "P-256", x: "f83O", y: "x_FE", kid: "e1" };
const OKP = { kty: "OKP", crv: "Ed25519", x: "11qY" };

describe("publicJwk", () => {
  it("keeps only public, verification-relevant members", () => {
    expect(publicJwk({ ...RSA, d: "private", p: "p", q: "q", dp: "dp", dq: "dq", qi: "qi", x5c: ["MIIC"], ext: true })).toEqual(RSA);
    expect(publicJwk({ ...EC, d: "private", key_ops: ["verify"] })).toEqual({ ...EC, key_ops: ["verify"] });
    expect(publicJwk(OKP)).toEqual(OKP);
  });

  it.each([
    ["a symmetric key", { kty: "oct", k: "c2VjcmV0" }],
    ["an unknown kty", { kty: "XYZ", x: "1" }],
    ["an RSA key without n", { kty: "RSA", e: "AQAB" }],
    ["an EC key without y", { kty: "EC", crv: "P-256", x: "f83O" }],
    ["a numeric kid", { ...RSA, kid: 7 }],
    ["key_ops that aren't strings", { ...RSA, key_ops: [1] }],
    ["no kty", { n: "sXch", e: "AQAB" }],
    ["null", null],
    ["an array", [RSA]],
  ])("drops %s", (_name, value) => {
    expect(publicJwk(value)).toBeUndefined();
  });
});

describe("parseJwks", () => {
  it("keeps the usable keys and drops the rest", () => {
    expect(parseJwks({ keys: [RSA, { kty: "oct", k: "c2VjcmV0" }, EC] })).toEqual({ ok: true, value: [RSA, EC] });
  });

  it.each([
    [{}, "JWKS has no keys array"],
    [{ keys: {} }, "JWKS has no keys array"],
    [[RSA], "JWKS has no keys array"],
    ["keys", "JWKS has no keys array"],
    [{ keys: [] }, "JWKS has no usable public signature key"],
    [{ keys: [{ kty: "oct", k: "c2VjcmV0" }] }, "JWKS has no usable public signature key"],
    [{ keys: [RSA, EC, OKP] }, "JWKS has more than 2 keys"],
  ])("refuses %j", (value, detail) => {
    expect(parseJwks(value, 2)).toEqual({ ok: false, detail });
  });
});

describe("parseDiscovery", () => {
  const issuer = "https://token.actions.githubusercontent.com";

  it("takes jwks_uri when the issuer matches exactly", () => {
    expect(parseDiscovery({ issuer, jwks_uri: `${issuer}/.well-known/jwks` }, issuer)).toEqual({ ok: true, value: { jwksUri: `${issuer}/.well-known/jwks` } });
  });

  it.each([
    [{ issuer: `${issuer}/`, jwks_uri: "https://x/jwks" }, "discovery issuer does not match the configured issuer"],
    [{ issuer: issuer.toUpperCase(), jwks_uri: "https://x/jwks" }, "discovery issuer does not match the configured issuer"],
    [{ jwks_uri: "https://x/jwks" }, "discovery issuer does not match the configured issuer"],
    [{ issuer }, "discovery document has no jwks_uri"],
    [{ issuer, jwks_uri: 42 }, "discovery document has no jwks_uri"],
    [[issuer], "discovery document is not a JSON object"],
    [null, "discovery document is not a JSON object"],
  ])("refuses %j", (value, detail) => {
    expect(parseDiscovery(value, issuer)).toEqual({ ok: false, detail });
  });
});
