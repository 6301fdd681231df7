import { describe, expect, it } from "vitest";
import { parseJwks, parseJwksJson, publicJwk } from "./jwks.ts";

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

describe("parseJwks strictness (one parser for both Workers)", () => {
  it.each([
    ["d", { ...EC, kid: "leaked", d: "private" }],
    ["p", { ...RSA, kid: "leaked", p: "p" }],
    ["k", { ...RSA, kid: "leaked", k: "c2VjcmV0" }],
    ["use enc", { ...EC, kid: "enc", use: "enc" }],
  ])("drops a key with %s whole, keeping the others", (_name, key) => {
    expect(parseJwks({ keys: [RSA, key] })).toEqual({ ok: true, value: [RSA] });
    expect(parseJwks({ keys: [key] })).toEqual({ ok: false, detail: "JWKS has no usable public signature key" });
  });

  it("refuses more than 100 keys by default, and takes 100", () => {
    const keys = (n: number) => Array.from({ length: n }, (_, i) => ({ ...EC, kid: `k${i}` }));
    expect(parseJwks({ keys: keys(101) })).toEqual({ ok: false, detail: "JWKS has more than 100 keys" });
    expect(parseJwks({ keys: keys(100) }).ok).toBe(true);
  });

  it("parseJwksJson reads a JWKS as text", () => {
    expect(parseJwksJson(JSON.stringify({ keys: [EC] }))).toEqual({ ok: true, value: [EC] });
    expect(parseJwksJson("not json")).toEqual({ ok: false, detail: "JWKS is not JSON" });
    expect(parseJwksJson("null")).toEqual({ ok: false, detail: "JWKS has no keys array" });
  });
});
