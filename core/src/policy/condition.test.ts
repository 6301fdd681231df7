import { describe, expect, it } from "vitest";
import { compileCondition, evaluateCondition, type CompiledCondition, type ConditionKind } from "./condition.ts";
import { claimsToCel, scopeToCel } from "./cel-values.ts";
import { MAX_CONDITION_LENGTH } from "./static-check.ts";

function compiled(kind: ConditionKind, source: string): CompiledCondition {
  const result = compileCondition(kind, source);
  if (!result.ok) throw new Error(`expected ${source} to compile: ${result.error.message}`);
  return result.value.condition;
}

function compileError(kind: ConditionKind, source: string): string {
  const result = compileCondition(kind, source);
  if (result.ok) throw new Error(`expected ${source} to be rejected`);
  return `${result.error.line ?? "-"}:${result.error.column ?? "-"} ${result.error.message}`;
}

const k8sClaims = {
  sub: "system:serviceaccount:team-a:builder",
  aud: ["registry.example.com"],
  exp: 1767229200,
  "kubernetes.io": { namespace: "team-a", serviceaccount: { name: "builder" } },
  groups: ["dev", "ops"],
};

function authz(source: string, scope: { type: string; name: string; action: string; class?: string }, claims: Record<string, unknown> = k8sClaims) {
  return evaluateCondition(compiled("authz", source), { service: "registry.example.com", claims: claimsToCel(claims), scope: scopeToCel(scope) });
}

const pull = { type: "repository", name: "team-a/app", action: "pull" };

describe("compileCondition", () => {
  it.each([
    ["authn", "foo == 1", /^1:1 unknown variable 'foo'/],
    ["authn", 'scope.action == "pull"', /^1:1 unknown variable 'scope' \(this condition can use service, claims\)/],
    ["authn", "claims.sub", /must evaluate to a bool, but gives string/],
    ["authz", "scope", /must evaluate to a bool, but gives map/],
    ["authn", 'claims.sub.startswith("x")', /^1:11 unknown function 'startswith'/],
    ["authn", 'claims.sub.matches("[")', /^1:11 invalid regular expression "\["/],
    ["authn", 'claims.exp > "soon"', /^1:12 condition fails on every sample: found no matching overload/],
    ["authn", "claims.sub ==", /^1:\d+ syntax error/],
    ["authn", "[1].all(a, [2].all(b, [3].all(c, true)))", /nested more than 2 deep/],
    ["authn", "google.protobuf.Duration{seconds: 1} != null", /message construction/],
    ["authn", "x".repeat(MAX_CONDITION_LENGTH + 1), /longer than 4096 characters/],
  ] as const)("%s %j is rejected", (kind, source, expected) => {
    expect(compileError(kind, source)).toMatch(expected);
  });

  it("accepts comprehension variables, type names and the PoC's index syntax", () => {
    expect(compileCondition("authn", 'claims.aud.exists(a, a == service) && type(claims.sub) == string').ok).toBe(true);
    expect(compileCondition("authz", 'scope["action"] == "pull" && scope["name"].startsWith(claims["repository_owner"] + "/")').ok).toBe(true);
  });

  it("loads with a warning when missing sample keys leave the result type unchecked", () => {
    const result = compileCondition("authn", 'claims.tenant == "blue"');
    expect(result.ok && result.value.warnings.map((w) => w.message)).toEqual([expect.stringMatching(/could not be evaluated on any sample claims \(field not found: tenant/)]);
  });

  it("loads hazardous conditions with warnings placed at the hazard", () => {
    const result = compileCondition("authz", 'scope.type == "repository" &&\n  scope.action != "delete" &&\n  scope.name.matches("acme/[a-z]+")');
    expect(result.ok && result.value.warnings.map((w) => `${w.line}:${w.column} ${w.message.split(":")[0]}`)).toEqual(["2:3 negated action check", "3:3 unanchored matches() over scope.name"]);
  });

  it("survives pathological nesting without throwing", () => {
    expect(compileCondition("authn", `${"(".repeat(1500)}true${")".repeat(1500)}`)).toHaveProperty("ok");
  });

  it.each([
    ["a has() over a 1,990-deep select chain", `has(claims${".a".repeat(1990)})`],
    ["a 1,000-deep index chain", `claims.a${"[0]".repeat(1000)} == 1`],
  ])("refuses %s with an error, not a stack overflow", (_, source) => {
    expect(compileError("authn", source)).toMatch(/nests more than 250 expressions deep/);
  });

  it("accepts nesting up to the limit, through every check", () => {
    const chain = Array.from({ length: 200 }, (_, i) => `claims.s == "${i}"`).join("||");
    const results = [compileCondition("authn", chain), compileCondition("authn", `has(claims${".a".repeat(240)})`)];
    expect(results.map((r) => (r.ok ? "ok" : r.error.message))).toEqual(["ok", "ok"]);
  });
});

describe("evaluateCondition", () => {
  it("reads scope by index and by field, with class empty when absent", () => {
    expect(authz('scope["action"] == "pull" && scope.type == "repository" && scope.class == ""', pull)).toEqual({ ok: true, value: true });
    expect(authz('scope.class == "plugin"', { ...pull, class: "plugin" })).toEqual({ ok: true, value: true });
  });

  it("sees JSON claims as CEL: nested maps, lists, numbers", () => {
    expect(authz('claims["kubernetes.io"].namespace == "team-a" && claims["kubernetes.io"].serviceaccount.name == "builder"', pull)).toEqual({ ok: true, value: true });
    expect(authz('"ops" in claims.groups && claims.groups.size() == 2 && claims.aud[0] == service', pull)).toEqual({ ok: true, value: true });
    expect(authz("claims.exp == 1767229200 && claims.exp > 1000 && int(claims.exp) == 1767229200", pull)).toEqual({ ok: true, value: true });
  });

  it("matches() is RE2", () => {
    const cond = 'scope.name.matches("^team-a/[a-z0-9-]+$") && claims.sub.matches("^system:serviceaccount:team-a:")';
    expect(authz(cond, pull)).toEqual({ ok: true, value: true });
    expect(authz(cond, { ...pull, name: "team-b/app" })).toEqual({ ok: true, value: false });
  });

  it("refuses, with a reason, on a runtime error or a non-bool", () => {
    expect(authz('claims.tenant == "blue"', pull)).toEqual({ ok: false, error: "field not found: tenant (at 1:7)" });
    const nonBool = compiled("authz", 'claims.flag == true ? true : claims.flag');
    expect(evaluateCondition(nonBool, { service: "s", claims: claimsToCel({ flag: "yes" }), scope: scopeToCel(pull) })).toEqual({ ok: false, error: "result is string, not bool" });
  });

  it("never exposes JS object members as claims", () => {
    expect(authz('has(claims.constructor) || has(claims.__proto__)', pull, {})).toEqual({ ok: true, value: false });
  });
});
