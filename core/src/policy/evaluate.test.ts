import { describe, expect, it } from "vitest";
import type { ProviderConfig } from "../providers/model.ts";
import { evaluateAuthn, evaluateAuthz } from "./evaluate.ts";
import { compileProvider, type LoadedProvider } from "./compile-provider.ts";

function load(extra: Partial<ProviderConfig>): LoadedProvider {
  const result = compileProvider({
    name: "gha",
    issuer: "https://token.actions.githubusercontent.com",
    keys: { source: "discovery", discoveryUrl: "https://token.actions.githubusercontent.com/.well-known/openid-configuration" },
    audiences: [],
    refreshSeconds: 3600,
    ...extra,
  });
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join("; "));
  return result.value.provider;
}

const claims = { repository_owner: "acme", ref: "refs/heads/main" };
const scope = (action: string, name = "acme/app") => ({ type: "repository", name, action });

describe("evaluateAuthn / evaluateAuthz", () => {
  it("grants everything without conditions, as the PoC did, and says so", () => {
    const p = load({});
    expect(evaluateAuthn(p, { service: "r", claims })).toEqual({ allowed: true, reason: "no authn condition: every verified token authenticates" });
    expect(evaluateAuthz(p, { service: "r", claims, scope: scope("delete") })).toEqual({ allowed: true, reason: "no authz condition: every requested scope is granted" });
  });

  it("decides per action with the policy's answer", () => {
    const p = load({
      authn: 'service == "registry.example.com"',
      authz: 'scope.name.startsWith(claims.repository_owner + "/") && (scope.action == "pull" || claims.ref == "refs/heads/main" && scope.action == "push")',
    });
    expect(evaluateAuthn(p, { service: "registry.example.com", claims })).toEqual({ allowed: true, reason: "authn condition is true" });
    expect(evaluateAuthn(p, { service: "other", claims })).toEqual({ allowed: false, reason: "authn condition is false" });
    const decide = (action: string, name?: string) => evaluateAuthz(p, { service: "registry.example.com", claims, scope: scope(action, name) }).allowed;
    expect([decide("pull"), decide("push"), decide("delete"), decide("pull", "other/app")]).toEqual([true, true, false, false]);
  });

  it('refuses "*" unevaluated unless the authz condition names it', () => {
    const denyList = load({ authz: 'scope.action != "delete"' });
    expect(evaluateAuthz(denyList, { service: "r", claims, scope: scope("*") })).toEqual({
      allowed: false,
      reason: 'authz condition does not name the "*" action (every action); it is granted only by a condition comparing scope.action == "*"',
    });
    expect(evaluateAuthz(denyList, { service: "r", claims, scope: scope("push") }).allowed).toBe(true);
    const catalog = { type: "registry", name: "catalog", action: "*" };
    const explicit = load({ authz: '(scope.type == "registry" && scope.action == "*") || scope.action == "pull"' });
    expect(evaluateAuthz(explicit, { service: "r", claims, scope: catalog })).toEqual({ allowed: true, reason: "authz condition is true" });
    expect(evaluateAuthz(explicit, { service: "r", claims, scope: scope("*") })).toEqual({ allowed: false, reason: "authz condition is false" });
    expect(evaluateAuthz(load({ authz: "true" }), { service: "r", claims, scope: catalog }).allowed).toBe(false);
  });

  it("fails closed when a condition errors at request time", () => {
    const p = load({ authn: 'claims.tenant == "blue"' });
    expect(evaluateAuthn(p, { service: "r", claims })).toEqual({ allowed: false, reason: "authn condition failed: field not found: tenant (at 1:7)" });
  });
});
