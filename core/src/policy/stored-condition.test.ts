import { describe, expect, it } from "vitest";
import { compileCondition, evaluateCondition, planCondition, type ConditionKind } from "./condition.ts";
import { claimsToCel, scopeToCel } from "./cel-values.ts";
import { fromBinary } from "@bufbuild/protobuf";
import { ParsedExprSchema } from "@bufbuild/cel-spec/cel/expr/syntax_pb.js";
import { base64Decode, base64Encode } from "@bufbuild/protobuf/wire";
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

/** A form whose ParsedExpr is `claims` (id 1) at the given offset, encoded by hand: tag, length, value. */
function FORM_WITH_POSITION(offset: number): string {
  const varint = (n: number): number[] => (n < 0x80 ? [n] : [(n & 0x7f) | 0x80, ...varint(n >>> 7)]);
  const ident = [0x10, 0x01, 0x22, 0x08, 0x0a, 0x06, ...new TextEncoder().encode("claims")]; // Expr{id (2): 1, ident_expr (4): {name (1)}}
  const entry = [0x08, 0x01, 0x10, ...varint(offset)]; // positions map entry {key: 1, value: offset}
  const sourceInfo = [0x22, entry.length, ...entry]; // SourceInfo.positions (field 4)
  return base64Encode(new Uint8Array([0x12, ident.length, ...ident, 0x1a, sourceInfo.length, ...sourceInfo])); // ParsedExpr.expr (2), source_info (3)
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
    const raw = fromBinary(ParsedExprSchema, base64Decode(form.ast));
    expect(Object.keys(raw.sourceInfo?.macroCalls ?? {})).toEqual([]);
    expect(Object.keys(raw.sourceInfo?.positions ?? {}).length).toBeGreaterThan(3);
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
      { ...good, v: 1 },
      { ...good, v: 3 },
      // Version 1's protobuf JSON under the current version number.
      { ...good, ast: { expr: { id: "1", identExpr: { name: "claims" } } } },
      { ...good, v: undefined },
      { ...good, ast: "" },
      { ...good, ast: "claims!" },
      { ...good, ast: good.ast.slice(0, -4) },
      { ...good, ast: base64Encode(new Uint8Array([0x0a, 0x7f, 0x01])) },
      { ...good, ast: base64Encode(new Uint8Array([0xff, 0xff, 0xff])) },
      { ...good, ast: FORM_WITH_POSITION(9999) },
    ];
    for (const form of bad) expect(errorOf(source, form)).toMatch(/policy apply/);
    // The hand-encoded form is well formed: only its position makes it wrong.
    expect(decodeCondition(source, { ...good, ast: FORM_WITH_POSITION(3) }).ok).toBe(true);
    expect(errorOf(source, { ...good, ast: FORM_WITH_POSITION(9999) })).toMatch(/position outside the source/);
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
    const bytes = base64Decode(form.ast);
    const at = new TextDecoder("latin1").decode(bytes).indexOf("_==_");
    expect(at).toBeGreaterThan(0);
    bytes.set(new TextEncoder().encode("nofn"), at);
    const tampered = { ...form, ast: base64Encode(bytes) };
    const decoded = decodeCondition(source, tampered);
    if (!decoded.ok) throw new Error(decoded.error);
    const planned = planCondition("authn", source, decoded.value);
    if (!planned.ok) throw new Error(planned.error.message);
    expect(evaluateCondition(planned.value, { service: "s", claims: claimsToCel({ sub: "a" }) })).toEqual({ ok: false, error: "unbound function: nofn (at 1:12)" });
  });
});
