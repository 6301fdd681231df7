import { describe, expect, it } from "vitest";
import { claimsUsedByCondition, claimsUsedByProvider, pickClaims } from "./claims-used.ts";
import type { LoadedProvider } from "../providers/compile-provider.ts";
import { compileCondition, type CompiledCondition, type ConditionKind } from "./condition.ts";
import type { ProviderConfig } from "../providers/model.ts";

function compiled(source: string, kind: ConditionKind = "authz"): CompiledCondition {
  const result = compileCondition(kind, source);
  if (!result.ok) throw new Error(`expected ${source} to compile: ${result.error.message}`);
  return result.value.condition;
}

const used = (source: string, kind: ConditionKind = "authz") => claimsUsedByCondition(compiled(source, kind));

describe("claimsUsedByCondition", () => {
  it("field selection and the index form, nested reads counting as their top-level claim", () => {
    expect(used('claims.repository_owner_id == "1" && claims["kubernetes.io"].namespace == "ci" && claims["ref"] == "refs/heads/main"')).toEqual({
      replayable: true,
      claims: ["kubernetes.io", "ref", "repository_owner_id"],
    });
  });

  it("has() guards and `\"x\" in claims` read the claim they test", () => {
    expect(used('has(claims.environment) && claims.environment == "prod" || has(claims.job.name) || "groups" in claims')).toEqual({
      replayable: true,
      claims: ["environment", "groups", "job"],
    });
  });

  it("macros: the range of exists/all/map/filter is read; the loop variable is not a claim", () => {
    expect(used('claims.groups.exists(g, g == "admin") && claims.teams.all(t, t.startsWith("a")) && size(claims.tags.filter(x, x == scope.name)) > 0')).toEqual({
      replayable: true,
      claims: ["groups", "tags", "teams"],
    });
  });

  it("a comprehension variable named claims shadows the input", () => {
    expect(used('claims.lists.exists(claims, claims.x == "1")')).toEqual({ replayable: true, claims: ["lists"] });
  });

  it("scope and service are not claims; a condition without claims reads none", () => {
    expect(used('scope.name.startsWith("acme/") && service == "registry.example.com"')).toEqual({ replayable: true, claims: [] });
  });

  it("claims read as a whole — all(), exists() over keys, size(), a computed key — make it not replayable, with the place", () => {
    for (const source of ['claims.all(k, k != "admin")', 'claims.exists(k, k == "x")', "size(claims) > 2", 'claims[scope.name] == "x"', "claims[scope.type + \"_id\"] == \"1\""]) {
      const result = used(source);
      expect(result.replayable, source).toBe(false);
      if (!result.replayable) expect(result.reason).toMatch(/^authz\.condition 1:\d+ reads claims as a whole/);
    }
    const multiline = used('claims.ref == "refs/heads/main" &&\n  claims.exists(k, k == "x")', "authn");
    expect(multiline).toEqual({ replayable: false, reason: "authn.condition 2:3 reads claims as a whole (not a fixed claim name)" });
  });
});

describe("claimsUsedByProvider", () => {
  const config = { name: "p" } as ProviderConfig;

  it("the union of authn and authz, computed once per compiled provider", () => {
    const provider: LoadedProvider = { config, authn: compiled('claims.repository_owner_id == "1"', "authn"), authz: compiled('claims.ref == "refs/heads/main" && claims.repository_owner_id != ""') };
    const first = claimsUsedByProvider(provider);
    expect(first).toEqual({ replayable: true, claims: ["ref", "repository_owner_id"] });
    expect(claimsUsedByProvider(provider)).toBe(first);
  });

  it("no conditions: no claims; one whole-claims read makes the provider not replayable", () => {
    const none: LoadedProvider = { config };
    const whole: LoadedProvider = { config, authn: compiled('claims.sub != ""', "authn"), authz: compiled("size(claims) > 0") };
    expect(claimsUsedByProvider(none)).toEqual({ replayable: true, claims: [] });
    expect(claimsUsedByProvider(whole).replayable).toBe(false);
  });
});

describe("pickClaims", () => {
  it("only the named claims the token has", () => {
    expect(pickClaims({ sub: "s", ref: "r", secret: "x" }, ["ref", "missing"])).toEqual({ ref: "r" });
  });
});
