import { generateKeyPair, SignJWT, type JWTPayload } from "jose";
import { describe, expect, it } from "vitest";
import { CLOCK_TOLERANCE_SECONDS } from "@jwt-registry-auth/protocol";
import { checkWorkloadClaims, verifyWorkloadJwt, WORKLOAD_CHECKS, workloadExpectations, type WorkloadExpectations } from "./workload-token.ts";
import type { ProviderConfig } from "../providers/model.ts";

const NOW = 1_800_000_000;
const ISS = "https://issuer.example";
const SERVICE = "registry.example.com";
const expected: WorkloadExpectations = { issuer: ISS, audiences: [SERVICE], maxLifetimeSeconds: 3600, now: NOW };
const good = { iss: ISS, aud: SERVICE, sub: "s", iat: NOW - 10, exp: NOW + 300 };

describe("checkWorkloadClaims", () => {
  it("accepts a current token for the service", () => {
    expect(checkWorkloadClaims(good, expected)).toEqual({ ok: true, value: { claims: good, subject: "s", expiresAt: NOW + 300 } });
    expect(checkWorkloadClaims({ ...good, aud: ["other", SERVICE] }, expected).ok).toBe(true);
  });

  it.each<[string, Record<string, unknown>, string, string]>([
    ["no iss (before anything else)", { aud: "x", sub: "s" }, "iss", "missing_claim"],
    ["no aud", { iss: ISS, sub: "s", exp: NOW }, "aud", "missing_claim"],
    ["no exp", { iss: ISS, aud: SERVICE, sub: "s" }, "exp", "missing_claim"],
    ["another issuer", { ...good, iss: "https://evil.example" }, "iss", "wrong_issuer"],
    ["the wrong audience", { ...good, aud: "other" }, "aud", "wrong_audience"],
    ["the wrong issuer is reported before the wrong audience", { ...good, iss: "x", aud: "y" }, "iss", "wrong_issuer"],
    ["expired beyond the skew", { ...good, exp: NOW - CLOCK_TOLERANCE_SECONDS }, "exp", "expired"],
    ["nbf beyond the skew", { ...good, nbf: NOW + CLOCK_TOLERANCE_SECONDS + 1 }, "nbf", "not_yet_valid"],
    ["iat beyond the skew", { ...good, iat: NOW + CLOCK_TOLERANCE_SECONDS + 1 }, "iat", "not_yet_valid"],
    ["a string exp", { ...good, exp: "tomorrow" }, "exp", "malformed"],
    ["a fractional exp", { ...good, exp: NOW + 0.5 }, "exp", "malformed"],
    ["a lifetime over the maximum", { ...good, iat: NOW, exp: NOW + 3601 }, "lifetime", "token_lifetime_exceeded"],
    ["an empty sub", { ...good, sub: "" }, "sub", "missing_claim"],
    ["a numeric sub", { ...good, sub: 42 }, "sub", "malformed"],
  ])("refuses %s, naming the check", (_label, claims, check, reason) => {
    expect(checkWorkloadClaims(claims, expected)).toMatchObject({ ok: false, check, reason });
  });

  it("tolerates the clock skew on both sides", () => {
    expect(checkWorkloadClaims({ ...good, exp: NOW - CLOCK_TOLERANCE_SECONDS + 1, iat: NOW - 100 }, expected).ok).toBe(true);
    expect(checkWorkloadClaims({ ...good, nbf: NOW + CLOCK_TOLERANCE_SECONDS }, expected).ok).toBe(true);
  });
});

describe("verifyWorkloadJwt", () => {
  const provider: ProviderConfig = { name: "p", issuer: ISS, keys: { source: "static", pems: [] }, audiences: [], refreshSeconds: 0 };
  const keys = generateKeyPair("ES256");
  const sign = async (claims: JWTPayload, alg = "ES256") => new SignJWT(claims).setProtectedHeader({ alg }).sign((await keys).privateKey);

  it("runs the signature before the claims, and skips only the signature when unverified", async () => {
    const { publicKey } = await keys;
    const other = await generateKeyPair("ES256");
    const token = await sign({ ...good, aud: "wrong" });
    const exp = workloadExpectations(provider, SERVICE, NOW);
    expect(await verifyWorkloadJwt(token, exp, async () => other.publicKey)).toMatchObject({ ok: false, check: "signature", reason: "bad_signature" });
    expect(await verifyWorkloadJwt(token, exp, async () => publicKey)).toMatchObject({ ok: false, check: "aud", reason: "wrong_audience" });
    expect(await verifyWorkloadJwt(token, exp, "unverified")).toMatchObject({ ok: false, check: "aud", reason: "wrong_audience" });
    expect(await verifyWorkloadJwt(await sign(good), exp, "unverified")).toMatchObject({ ok: true, value: { subject: "s" } });
  });

  it("refuses a provider with no audience for the service before looking at the header", async () => {
    const hs = "eyJhbGciOiJIUzI1NiJ9.e30.c2ln";
    const none = workloadExpectations({ ...provider, audiences: ["other.example.com"] }, SERVICE, NOW);
    expect(await verifyWorkloadJwt(hs, none, "unverified")).toMatchObject({ ok: false, check: "service_audience", reason: "wrong_audience" });
    expect(await verifyWorkloadJwt(hs, workloadExpectations(provider, SERVICE, NOW), "unverified")).toMatchObject({ ok: false, check: "header", reason: "disallowed_alg" });
  });

  it("lists its checks in order, signature before claims", () => {
    expect(WORKLOAD_CHECKS.indexOf("signature")).toBeLessThan(WORKLOAD_CHECKS.indexOf("iss"));
    expect(WORKLOAD_CHECKS.indexOf("header")).toBeLessThan(WORKLOAD_CHECKS.indexOf("signature"));
  });
});
