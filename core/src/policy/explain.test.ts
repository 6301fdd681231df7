import { describe, expect, it } from "vitest";
import { claimsToCel, scopeToCel } from "./cel-values.ts";
import { compileCondition, runProgram, type CompiledCondition, type ConditionKind } from "./condition.ts";
import { explainRefusal, formatExplanation, refusalReason } from "./explain.ts";

function compiled(kind: ConditionKind, source: string): CompiledCondition {
  const result = compileCondition(kind, source);
  if (!result.ok) throw new Error(`expected ${source} to compile: ${result.error.message}`);
  return result.value.condition;
}

const github = { repository_owner: "acme", repository_owner_id: "42", ref: "refs/heads/feature", exp: 1767229200, groups: ["dev"] };
const push = { type: "repository", name: "acme/app", action: "push" };

/** What the whole condition gives, and the explanation formatted as the log line carries it. */
function explain(source: string, claims: Record<string, unknown> = github, kind: ConditionKind = "authz") {
  const condition = compiled(kind, source);
  const bindings = { service: "registry.example.com", claims: claimsToCel(claims), ...(kind === "authz" && { scope: scopeToCel(push) }) };
  const result = runProgram(condition, bindings);
  return { result, reason: formatExplanation(explainRefusal(condition, bindings, result)), explanation: explainRefusal(condition, bindings, result) };
}

describe("explainRefusal", () => {
  it("a && b: the first false conjunct, with its text and place", () => {
    const { result, reason } = explain('scope.type == "repository" && scope.name.startsWith("acme/") && claims.ref == "refs/heads/main"');
    expect(result).toBe(false);
    expect(reason).toBe('authz: false at 1:65: claims.ref == "refs/heads/main"');
  });

  it("walks down: a false conjunct that is itself an || gives every disjunct's reason", () => {
    const source = 'scope.name.startsWith("acme/") &&\n  (scope.action == "pull" || (scope.action == "push" && claims.ref == "refs/heads/main"))';
    expect(explain(source).reason).toBe('authz: false at 2:4: scope.action == "pull"; false at 2:57: claims.ref == "refs/heads/main"');
  });

  it("a || b: every disjunct", () => {
    expect(explain('claims.repository_owner == "other" || "admin" in claims.groups').reason).toBe(
      'authz: false at 1:1: claims.repository_owner == "other"; false at 1:39: "admin" in claims.groups',
    );
  });

  it("!x: x was true", () => {
    expect(explain('scope.type == "repository" && !(scope.action in ["push", "delete"])').reason).toBe(
      'authz: false at 1:31: !(scope.action in ["push", "delete"]) (the negated term is true)',
    );
  });

  it("ternary: the branch taken", () => {
    const source = 'scope.action == "push" ? claims.ref == "refs/heads/main" : scope.action == "pull"';
    expect(explain(source).reason).toBe('authz: false at 1:26: claims.ref == "refs/heads/main"');
    expect(explain(source, github).explanation.terms).toEqual([{ outcome: "false", text: 'claims.ref == "refs/heads/main"', line: 1, column: 26 }]);
  });

  it("a missing claim: an error that names the claim, and refuses", () => {
    const { result, explanation, reason } = explain('claims.repository_owner_id == "42" && claims.environment == "production"', github, "authn");
    expect(result).not.toBe(true);
    expect(explanation.terms).toEqual([
      { outcome: "error", text: 'claims.environment == "production"', line: 1, column: 39, detail: "field not found: environment", input: "claims.environment is missing" },
    ]);
    expect(reason).toBe('authn: error at 1:39: claims.environment == "production": field not found: environment (claims.environment is missing)');
    // By index, as the PoC writes it, and nested.
    expect(explain('claims["kubernetes.io"].namespace == "a"', github, "authn").reason).toMatch(/^authn: error at 1:1: claims\["kubernetes.io"\]\.namespace == "a": .* \(claims\["kubernetes.io"\] is missing\)$/);
  });

  it("a claim of the wrong type: the error names the claim and its type", () => {
    const { result, reason } = explain('scope.type == "repository" && claims.repository_owner_id > 10');
    expect(result).not.toBe(true);
    expect(reason).toBe("authz: error at 1:31: claims.repository_owner_id > 10: found no matching overload for '_>_' applied to '(string, int)' (claims.repository_owner_id is string)");
    expect(explain('"dev" in claims.groups', { ...github, groups: "dev" }).reason).toMatch(/error at 1:1: "dev" in claims\.groups: found no matching overload .* \(claims\.groups is string\)$/);
  });

  it("a false comparison across types says the claim's type (CEL's == is false there, not an error)", () => {
    expect(explain('claims.repository_owner_id == "42"', { ...github, repository_owner_id: 42 }, "authn").reason).toBe(
      'authn: false at 1:1: claims.repository_owner_id == "42" (claims.repository_owner_id is double, not string)',
    );
    expect(explain('claims.repository_owner_id in ["42", "43"]', { ...github, repository_owner_id: 42 }, "authn").reason).toBe(
      'authn: false at 1:1: claims.repository_owner_id in ["42", "43"] (claims.repository_owner_id is double, not string)',
    );
    // Numbers compare across int and double: no type note for a plain false.
    expect(explain("claims.exp == 1", github, "authn").reason).toBe("authn: false at 1:1: claims.exp == 1");
    expect(explain('claims.repository_owner_id == "7"', github, "authn").reason).toBe('authn: false at 1:1: claims.repository_owner_id == "7"');
  });

  it("a runtime error refuses, never allows — even where || or ! would have flipped a false", () => {
    // `!` over an error is an error; `false || error` is an error: both refuse.
    for (const source of ['!(claims.tenant == "blue")', 'scope.action == "pull" || claims.tenant == "blue"', 'int(claims.run_number) > 0']) {
      const { result, reason } = explain(source, { ...github, run_number: "not a number" });
      expect(result).not.toBe(true);
      expect(reason).toMatch(/error at/);
    }
    expect(explain('!(claims.tenant == "blue")').reason).toBe('authz: error at 1:3: claims.tenant == "blue": field not found: tenant (claims.tenant is missing)');
  });

  it("a non-bool result", () => {
    const { reason } = explain('claims.ref == "x" ? true : claims.flag', { ...github, flag: "yes" });
    expect(reason).toBe("authz: not a bool at 1:28: claims.flag (gives string)");
  });

  it("quotes terms exactly as written: comments, strings with operators, nested parentheses", () => {
    const source = '(( scope.name == "a&&b" )) && // the repository\n  (claims.ref == "x || y)")';
    expect(explain(source, github).reason).toBe('authz: false at 1:4: scope.name == "a&&b"');
    const commented = 'scope.type == "repository" && // pushes need main\n  claims.ref == "refs/heads/main" // the only protected branch\n  && scope.action == "push"';
    expect(explain(commented, github).reason).toBe('authz: false at 2:3: claims.ref == "refs/heads/main"');
    const quoted = String.raw`scope.name == "a\"&&b" || scope.name == '''x'||y'''`;
    expect(explain(quoted, github).reason).toBe(String.raw`authz: false at 1:1: scope.name == "a\"&&b"; false at 1:27: scope.name == '''x'||y'''`);
  });

  it("comprehensions are leaves", () => {
    expect(explain('claims.groups.exists(g, g == "ops") && scope.action == "push"').reason).toBe('authz: false at 1:1: claims.groups.exists(g, g == "ops")');
  });

  it("plans a condition's terms once, not per refusal", () => {
    const condition = compiled("authn", 'claims.repository_owner == "other"');
    const bindings = { service: "s", claims: claimsToCel(github) };
    const first = explainRefusal(condition, bindings, false);
    expect(explainRefusal(condition, bindings, false)).toEqual(first);
  });
});

describe("refusalReason: the line in the applied file (issue 10)", () => {
  const source = 'scope.name.startsWith("acme/") &&\n  (scope.action == "pull" || (scope.action == "push" && claims.ref == "refs/heads/main"))';

  it("maps the condition's rows onto the file from its first line; with a file name for policy test", () => {
    const { reason, explanation } = explain(source);
    const decision = { reason, explanation };
    // Row 2 of a condition whose first row is file line 14 is line 15.
    expect(refusalReason(decision, { authz: 14 })).toBe('authz: false at line 15 (condition 2:4): scope.action == "pull"; false at line 15 (condition 2:57): claims.ref == "refs/heads/main"');
    expect(refusalReason(decision, { authz: 14 }, "providers.yaml")).toBe(
      'authz: false at providers.yaml:15 (condition 2:4): scope.action == "pull"; false at providers.yaml:15 (condition 2:57): claims.ref == "refs/heads/main"',
    );
    expect(refusalReason(explain('claims.sub == "x"', github, "authn"), { authn: 3, authz: 9 })).toBe("authn: error at line 3 (condition 1:1): claims.sub == \"x\": field not found: sub (claims.sub is missing)");
  });

  it("keeps the condition's own position when the row has no lines, or nothing was explained", () => {
    const decision = explain(source);
    expect(refusalReason(decision, undefined)).toBe(decision.reason);
    expect(refusalReason(decision, { authn: 3 })).toBe(decision.reason);
    expect(refusalReason({ reason: "the * rule" }, { authz: 3 })).toBe("the * rule");
  });
});
