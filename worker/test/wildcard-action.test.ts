/**
 * The `*` action at the token endpoint, inside workerd: `*` means every
 * action (delete included) at Distribution and the proxy, so a deny-list
 * condition must not grant it. Only a condition naming "*" does.
 */
import { SELF } from "cloudflare:test";
import { createLocalJWKSet, type JWK } from "jose";
import { afterEach, beforeEach, describe, expect, inject, it, vi } from "vitest";
import { verifyRegistryToken } from "@jwt-registry-auth/protocol";
import { resetPolicyCache } from "../src/policy/store.ts";
import { discoveryProvider, freshIssuer, mint, putProviders } from "./providers.ts";
import { captureConsole } from "./console-capture.ts";

const SERVICE = "registry.test";
const basic = (user: string, pass: string) => `Basic ${btoa(`${user}:${pass}`)}`;

let issuer: string;
let logs: string[];

beforeEach(async () => {
  issuer = freshIssuer(inject("githubIssuer"));
  resetPolicyCache();
  await putProviders([
    // The attack run's deny-list: everything on acme/* but delete.
    discoveryProvider("denylist", issuer, { authz: 'scope.type == "repository" && scope.name.startsWith("acme/") && scope.action != "delete"' }),
    discoveryProvider("explicit", issuer, { authz: 'scope.name.startsWith("acme/") && scope.action in ["pull", "*"]' }),
    discoveryProvider("catalog", issuer, { authz: 'scope.type == "registry" && scope.name == "catalog" && scope.action == "*"' }),
  ]);
  ({ logs } = captureConsole());
});

afterEach(() => {
  vi.restoreAllMocks();
});

async function grantedAccess(provider: string, scope: string): Promise<unknown> {
  const jwt = await mint(issuer, { sub: "repo:acme/app:ref:refs/heads/main", aud: `https://${SERVICE}` });
  const res = await SELF.fetch(`http://token.test/token?service=${SERVICE}&scope=${encodeURIComponent(scope)}`, { headers: { Authorization: basic(provider, jwt) } });
  expect(res.status).toBe(200);
  const { token } = (await res.json()) as { token: string };
  const jwks = (await (await SELF.fetch("http://token.test/.well-known/jwks.json")).json()) as { keys: JWK[] };
  const verified = await verifyRegistryToken(token, createLocalJWKSet(jwks), { issuer: "test-token-issuer", audience: SERVICE });
  if (!verified.ok) throw new Error(`registry token did not verify: ${verified.reason}`);
  return verified.value.access;
}

describe('the "*" action', () => {
  it("is not granted by a deny-list condition, so a DELETE through the proxy has no token for it", async () => {
    expect(await grantedAccess("denylist", "repository:acme/app:pull,push,delete,*")).toEqual([{ type: "repository", name: "acme/app", actions: ["pull", "push"] }]);
    expect(await grantedAccess("denylist", "repository:acme/app:*")).toEqual([]);
    const line = logs.map((l) => JSON.parse(l) as { refused?: string[]; reason?: string }).find((l) => l.refused?.includes("repository:acme/app:*"));
    expect(line?.reason).toMatch(/does not name the "\*" action/);
  });

  it("is granted, after evaluation, by a condition that names it", async () => {
    expect(await grantedAccess("explicit", "repository:acme/app:*")).toEqual([{ type: "repository", name: "acme/app", actions: ["*"] }]);
    expect(await grantedAccess("explicit", "repository:other/app:*")).toEqual([]);
  });

  it("keeps registry:catalog:* for a policy that grants it", async () => {
    expect(await grantedAccess("catalog", "registry:catalog:*")).toEqual([{ type: "registry", name: "catalog", actions: ["*"] }]);
  });
});
