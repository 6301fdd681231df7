import { parseBearerChallenge } from "@jwt-registry-auth/protocol";
import { describe, expect, it } from "vitest";
import { challengeHeader, challengeResponse } from "./challenge.ts";

const SETTINGS = { realm: "https://auth.example/token", service: "registry.example" };
const APP_PUSH = { type: "repository", name: "acme/app", actions: ["pull", "push"] };
const BASE_PULL = { type: "repository", name: "acme/base", actions: ["pull"] };

describe("challengeHeader", () => {
  it("formats Distribution's challenge exactly", () => {
    expect(challengeHeader(SETTINGS, [APP_PUSH])).toBe('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:acme/app:pull,push"');
    expect(challengeHeader(SETTINGS, [APP_PUSH, BASE_PULL], "insufficient_scope")).toBe(
      'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:acme/app:pull,push repository:acme/base:pull",error="insufficient_scope"',
    );
  });

  it("leaves scope out when none is needed (/v2/)", () => {
    expect(challengeHeader(SETTINGS, [], "invalid_token")).toBe('Bearer realm="https://auth.example/token",service="registry.example",error="invalid_token"');
  });
});

describe("challengeResponse", () => {
  it.each([
    [{ outcome: "missing" } as const, undefined, { reason: "no_credentials", access: [APP_PUSH] }],
    // The verifier's words ("token has expired") go to the log line, not the wire.
    [{ outcome: "invalid", reason: "expired", detail: "token has expired", token: "t.o.k" } as const, "invalid_token", { reason: "expired" }],
  ])("%o → 401 with error %s and detail %o", async (authorization, error, detail) => {
    const response = challengeResponse(SETTINGS, [APP_PUSH], authorization);
    expect(response.status).toBe(401);
    expect(parseBearerChallenge(response.headers.get("WWW-Authenticate") ?? "")).toEqual({ ...SETTINGS, scope: "repository:acme/app:pull,push", ...(error && { error }) });
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const body = (await response.json()) as { errors: { code: string; detail: unknown }[] };
    expect(body.errors.map((e) => e.code)).toEqual(["UNAUTHORIZED"]);
    expect(body.errors[0]?.detail).toEqual(detail);
  });

  it("a request that needs no access (/v2/) gets a detail without access", async () => {
    const response = challengeResponse(SETTINGS, [], { outcome: "missing" });
    expect(((await response.json()) as { errors: { detail: unknown }[] }).errors[0]?.detail).toEqual({ reason: "no_credentials" });
  });

  it("insufficient scope names the required access in the body, and never the token", async () => {
    const claims = { iss: "i", sub: "s", aud: "a", exp: 1, nbf: 0, iat: 0, jti: "", access: [] };
    const response = challengeResponse(SETTINGS, [APP_PUSH], { outcome: "insufficient", claims, token: "secret.token.value" });
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({ errors: [{ code: "UNAUTHORIZED", message: "the registry token does not grant the access this request needs", detail: { reason: "insufficient_scope", access: [APP_PUSH] } }] });
    expect(text).not.toContain("secret");
  });
});
