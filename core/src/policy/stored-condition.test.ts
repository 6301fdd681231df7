import { describe, expect, it } from "vitest";
import { compileCondition, evaluateCondition, planCondition, type ConditionKind } from "./condition.ts";
import { claimsToCel, scopeToCel } from "./cel-values.ts";
import { decodeCondition, encodeCondition, sourceHash, STORED_CONDITION_VERSION, type StoredCondition } from "./stored-condition.ts";

function stored(kind: ConditionKind, source: string): StoredCondition {
  const result = compileCondition(kind, source);
  if (!result.ok) throw new Error(result.error.message);
  return encodeCondition(result.value.condition);
}

function errorOf(source: string, form: unknown): string {
  const decoded = decodeCondition(source, form);
  if (decoded.ok) throw new Error("expected the stored form to be refused");
  return decoded.error;
}

const AUTHZ = 'scope.type == "repository" &&\n  scope.name.startsWith(claims.repository_owner + "/") &&\n  claims.ref in ["refs/heads/main"]';

describe("stored condition form", () => {
  it("round-trips through JSON and plans to the same decisions, positions included", () => {
    const original = compileCondition("authz", AUTHZ);
    if (!original.ok) throw new Error(original.error.message);
    const form = JSON.parse(JSON.stringify(stored("authz", AUTHZ))) as unknown;
    const decoded = decodeCondition(AUTHZ, form);
    if (!decoded.ok) throw new Error(decoded.error);
    const planned = planCondition("authz", AUTHZ, decoded.value);
    if (!planned.ok) throw new Error(planned.error.message);
    expect(planned.value.positions).toEqual(original.value.condition.positions);
    expect(planned.value.namesWildcardAction).toBe(original.value.condition.namesWildcardAction);
    const cases = [
      { claims: { repository_owner: "acme", ref: "refs/heads/main" }, name: "acme/app" },
      { claims: { repository_owner: "acme", ref: "refs/heads/dev" }, name: "acme/app" },
      { claims: { repository_owner: "evil", ref: "refs/heads/main" }, name: "acme/app" },
      { claims: { ref: "refs/heads/main" }, name: "acme/app" },
    ];
    for (const c of cases) {
      const bindings = { service: "registry.example", claims: claimsToCel(c.claims), scope: scopeToCel({ type: "repository", name: c.name, action: "pull" }) };
      expect(evaluateCondition(planned.value, bindings)).toEqual(evaluateCondition(original.value.condition, bindings));
    }
  });

  it("keeps no macro calls: exists() is stored expanded and still evaluates", () => {
    const source = 'claims.groups.exists(g, g == "admins")';
    const form = stored("authn", source);
    expect(JSON.stringify(form.ast)).not.toContain("macroCalls");
    const decoded = decodeCondition(source, form);
    if (!decoded.ok) throw new Error(decoded.error);
    const planned = planCondition("authn", source, decoded.value);
    if (!planned.ok) throw new Error(planned.error.message);
    expect(evaluateCondition(planned.value, { service: "s", claims: claimsToCel({ groups: ["devs", "admins"] }) })).toEqual({ ok: true, value: true });
    expect(evaluateCondition(planned.value, { service: "s", claims: claimsToCel({ groups: ["devs"] }) })).toEqual({ ok: true, value: false });
  });

  it("refuses a form whose source was edited, however slightly", () => {
    const form = stored("authn", 'claims.sub == "a"');
    expect(errorOf('claims.sub == "b"', form)).toMatch(/does not match the condition's source.*policy apply/);
    expect(errorOf('claims.sub == "a" ', form)).toMatch(/does not match/);
  });

  it("refuses malformed forms with a message saying to re-apply, never throwing", () => {
    const source = "claims.sub == 'a'";
    const good = stored("authn", source);
    const bad: unknown[] = [
      null,
      "text",
      [],
      { ...good, v: 2 },
      { ...good, v: undefined },
      { ...good, ast: { expr: { id: "1", identExpr: { name: 5 } } } },
      { ...good, ast: { expr: { id: "x" } } },
      { ...good, ast: { nope: 1 } },
      { ...good, ast: {} },
      { ...good, ast: "claims" },
      { ...good, ast: { expr: { id: "1", identExpr: { name: "claims" } }, sourceInfo: { positions: { "1": 9999 } } } },
    ];
    for (const form of bad) expect(errorOf(source, form)).toMatch(/policy apply/);
  });

  it("is versioned and hashes the source", () => {
    const form = stored("authn", "true");
    expect(form.v).toBe(STORED_CONDITION_VERSION);
    expect(form.sourceHash).toBe(sourceHash("true"));
    expect(sourceHash("true")).not.toBe(sourceHash("tru e"));
    expect(sourceHash("")).toBe("811c9dc5");
  });

  it("a tampered form naming an unknown function refuses at evaluation (fail closed)", () => {
    const source = "claims.sub == 'a'";
    const form = stored("authn", source);
    const tampered = JSON.parse(JSON.stringify(form).replace('"_==_"', '"no_such_fn"')) as unknown;
    const decoded = decodeCondition(source, tampered);
    if (!decoded.ok) throw new Error(decoded.error);
    const planned = planCondition("authn", source, decoded.value);
    if (!planned.ok) throw new Error(planned.error.message);
    expect(evaluateCondition(planned.value, { service: "s", claims: claimsToCel({ sub: "a" }) })).toEqual({ ok: false, error: "unbound function: no_such_fn (at 1:12)" });
  });
});
