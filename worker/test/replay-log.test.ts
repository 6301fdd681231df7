/**
 * What the token_request log line keeps for `policy replay`: the requested
 * scopes with their actions, the authn outcome, and the values of exactly the
 * claims the provider's conditions read — never other claims, never a token.
 */
import { SELF } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, inject, it, vi } from "vitest";
import { discoveryProvider, freshIssuer, mint, putProviders } from "./providers.ts";
import { resetPolicyCache } from "../src/policy/store.ts";
import { captureConsole } from "./console-capture.ts";

const SERVICE = "registry.test";

let issuer: string;
let logs: string[];

const claims = (extra: Record<string, unknown> = {}) => ({
  sub: "repo:acme/app:ref:refs/heads/main",
  aud: `https://${SERVICE}`,
  repository: "acme/app",
  repository_owner: "acme",
  repository_owner_id: "1234",
  ref: "refs/heads/main",
  actor: "someone-private",
  workflow_ref: "acme/app/.github/workflows/build.yml@refs/heads/main",
  ...extra,
});

const basic = (user: string, pass: string) => `Basic ${btoa(`${user}:${pass}`)}`;
const tokenGet = (query: string, auth: string) => SELF.fetch(`http://token.test/token?${query}`, { headers: { Authorization: auth } });
const lastLine = () => JSON.parse(logs.filter((l) => l.includes('"token_request"')).at(-1) ?? "{}") as Record<string, unknown>;

beforeEach(async () => {
  issuer = freshIssuer(inject("githubIssuer"));
  resetPolicyCache();
  await putProviders([
    discoveryProvider("gha", issuer, {
      authn: 'claims.repository_owner_id == "1234"',
      authz: 'scope.name.startsWith(claims.repository_owner + "/") && (scope.action == "pull" || (has(claims.environment) && claims["ref"] == "refs/heads/main"))',
    }),
    discoveryProvider("whole", issuer, { authz: 'claims.all(k, k != "admin")' }),
    discoveryProvider("open", issuer),
  ]);
  ({ logs } = captureConsole());
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the token_request log line for replay", () => {
  it("carries exactly the claims the conditions read (an absent one only in claimsRead), the requested scopes and the outcome", async () => {
    const jwt = await mint(issuer, claims());
    const res = await tokenGet(`service=${SERVICE}&scope=repository:acme/app:pull,push&scope=repository:other/app:pull`, basic("gha", jwt));
    expect(res.status).toBe(200);
    const line = lastLine();
    expect(line).toMatchObject({
      status: 200,
      provider: "gha",
      service: SERVICE,
      authn: "allowed",
      requested: ["repository:acme/app:pull,push", "repository:other/app:pull"],
      claimsRead: ["environment", "ref", "repository_owner", "repository_owner_id"],
      granted: ["repository:acme/app:pull"],
      refused: ["repository:acme/app:push", "repository:other/app:pull"],
    });
    expect(line["claims"]).toEqual({ ref: "refs/heads/main", repository_owner: "acme", repository_owner_id: "1234" });
    expect(line).not.toHaveProperty("claimsUnrecorded");
    const text = logs.join("\n");
    for (const secret of [jwt, jwt.split(".")[1] ?? jwt, "someone-private", "workflows/build.yml"]) expect(text).not.toContain(secret);
  });

  it("records the claims and authn: refused when authn refuses", async () => {
    const jwt = await mint(issuer, claims({ repository_owner_id: "999" }));
    const res = await tokenGet(`service=${SERVICE}&scope=repository:acme/app:pull`, basic("gha", jwt));
    expect(res.status).toBe(403);
    expect(lastLine()).toMatchObject({ status: 403, authn: "refused", requested: ["repository:acme/app:pull"], claims: { repository_owner_id: "999", repository_owner: "acme", ref: "refs/heads/main" } });
    expect(lastLine()).not.toHaveProperty("granted");
  });

  it("logs no claims for a provider whose condition reads claims as a whole, and says why", async () => {
    const res = await tokenGet(`service=${SERVICE}&scope=repository:acme/app:pull`, basic("whole", await mint(issuer, claims())));
    expect(res.status).toBe(200);
    const line = lastLine();
    expect(line["claimsUnrecorded"]).toMatch(/^authz\.condition 1:1 reads claims as a whole/);
    expect(line).not.toHaveProperty("claims");
    expect(line).not.toHaveProperty("claimsRead");
    expect(logs.join("\n")).not.toContain("someone-private");
  });

  it("logs an empty claims object for a provider without conditions, and nothing before identity is verified", async () => {
    await tokenGet(`service=${SERVICE}&scope=repository:acme/app:pull`, basic("open", await mint(issuer, claims())));
    expect(lastLine()).toMatchObject({ status: 200, claimsRead: [], claims: {}, authn: "allowed" });
    await tokenGet(`service=${SERVICE}&scope=repository:acme/app:pull`, basic("gha", "not-a-jwt"));
    const refused = lastLine();
    expect(refused).toMatchObject({ status: 401, requested: ["repository:acme/app:pull"] });
    expect(refused).not.toHaveProperty("claims");
    expect(refused).not.toHaveProperty("authn");
  });
});
