import { describe, expect, it } from "vitest";
import { expiryOf, isCompactJwt, sha256Hex, unverifiedClaims } from "./jwt.ts";

const jwt = (claims: unknown) => `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.c2ln`;

describe("jwt helpers", () => {
  it("reads claims and expiry without verifying", () => {
    expect(unverifiedClaims(jwt({ sub: "repo:acme/app:ref:refs/heads/main", exp: 1_800_000_000 }))).toEqual({ sub: "repo:acme/app:ref:refs/heads/main", exp: 1_800_000_000 });
    expect(expiryOf(jwt({ exp: 1_800_000_000 }))?.toISOString()).toBe("2027-01-15T08:00:00.000Z");
  });

  it.each([["opaque-refresh-token"], ["a.b"], [jwt([1, 2])], ["e30.!!!.x"], [jwt({ exp: "soon" })], [jwt({ exp: 1.5 })]])("has no expiry for %j", (token) => {
    expect(expiryOf(token)).toBeUndefined();
  });

  it("recognises compact JWTs only", () => {
    expect(isCompactJwt(jwt({}))).toBe(true);
    expect(isCompactJwt("a.b.c.d")).toBe(false);
    expect(isCompactJwt("a b.c.d")).toBe(false);
  });

  it("hashes with SHA-256", () => {
    expect(sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
});
