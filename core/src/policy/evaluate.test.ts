import { describe, expect, it } from "vitest";
import type { ProviderConfig } from "../providers/model.ts";
import { evaluateAuthn, evaluateAuthz } from "./evaluate.ts";
import { compileProvider, type LoadedProvider } from "../providers/compile-provider.ts";

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
    expect(evaluateAuthn(p, { service: "other", claims })).toMatchObject({ allowed: false, reason: 'authn: false at 1:1: service == "registry.example.com"' });
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
    expect(evaluateAuthz(explicit, { service: "r", claims, scope: scope("*") })).toMatchObject({
      allowed: false,
      reason: 'authz: false at 1:2: scope.type == "registry"; false at 1:54: scope.action == "pull"',
    });
    expect(evaluateAuthz(load({ authz: "true" }), { service: "r", claims, scope: catalog }).allowed).toBe(false);
  });

  it("fails closed when a condition errors at request time", () => {
    const p = load({ authn: 'claims.tenant == "blue"' });
    expect(evaluateAuthn(p, { service: "r", claims })).toMatchObject({
      allowed: false,
      reason: 'authn: error at 1:1: claims.tenant == "blue": field not found: tenant (claims.tenant is missing)',
    });
  });

  it("explains a refusal, and returns the same decision object for every grant (nothing built on the granted path)", () => {
    const p = load({ authz: 'scope.action == "pull" || (scope.action == "push" && claims.ref == "refs/heads/main")' });
    const granted = evaluateAuthz(p, { service: "r", claims, scope: scope("pull") });
    expect(evaluateAuthz(p, { service: "r", claims, scope: scope("push") })).toBe(granted);
    const refused = evaluateAuthz(p, { service: "r", claims: { ...claims, ref: "refs/heads/dev" }, scope: scope("push") });
    expect(refused).toEqual({
      allowed: false,
      reason: 'authz: false at 1:1: scope.action == "pull"; false at 1:54: claims.ref == "refs/heads/main"',
      explanation: {
        condition: "authz",
        terms: [
          { outcome: "false", text: 'scope.action == "pull"', line: 1, column: 1 },
          { outcome: "false", text: 'claims.ref == "refs/heads/main"', line: 1, column: 54 },
        ],
      },
    });
  });
});
