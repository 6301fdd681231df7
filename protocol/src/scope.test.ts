import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatScope, MAX_SCOPES, parseScope, parseScopes, ScopeError, type ResourceScope } from "./scope.ts";

describe("parseScope", () => {
  it.each([
    ["repository:acme/app:pull", { type: "repository", name: "acme/app", actions: ["pull"] }],
    ["repository:acme/app:pull,push", { type: "repository", name: "acme/app", actions: ["pull", "push"] }],
    ["repository:localhost:5000/acme/app:pull", { type: "repository", name: "localhost:5000/acme/app", actions: ["pull"] }],
    ["repository:registry.example.com:443/a/b-c_d.e:*", { type: "repository", name: "registry.example.com:443/a/b-c_d.e", actions: ["*"] }],
    ["repository(plugin):acme/plug:pull", { type: "repository", class: "plugin", name: "acme/plug", actions: ["pull"] }],
    ["registry:catalog:*", { type: "registry", name: "catalog", actions: ["*"] }],
    ["repository:app:pull,pull,push", { type: "repository", name: "app", actions: ["pull", "push"] }],
  ])("parses %s", (raw, expected) => {
    expect(parseScope(raw)).toEqual(expected);
  });

  it.each([
    ["", "not of the form"],
    ["repository", "not of the form"],
    ["repository:acme/app", "not of the form"],
    [":acme/app:pull", "not of the form"],
    ["Repository:acme/app:pull", "invalid resource type"],
    ["repository(:acme/app:pull", "invalid resource type"],
    ["repository:Acme/App:pull", "invalid repository name"],
    ["repository:acme/../etc:pull", "invalid repository name"],
    ["repository:acme//app:pull", "invalid repository name"],
    ["repository:acme%2fapp:pull", "invalid repository name"],
    ["repository::pull", "invalid repository name"],
    ["repository:acme/app:", "invalid action"],
    ["repository:acme/app:pull,", "invalid action"],
    ["repository:acme/app:PULL", "invalid action"],
    ["repository:acme/app:pu ll", "invalid action"],
    [`repository:${"a".repeat(256)}:pull`, "invalid repository name"],
    [`repository:${"a/".repeat(400)}a:pull`, "longer than"],
  ])("rejects %j precisely", (raw, message) => {
    expect(() => parseScope(raw)).toThrow(ScopeError);
    expect(() => parseScope(raw)).toThrow(message);
  });

  it("never echoes more than a bounded slice of the input", () => {
    const raw = `repository:${"A".repeat(300)}:pull`;
    try {
      parseScope(raw);
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message.length).toBeLessThan(300);
    }
  });
});

describe("parseScopes", () => {
  it("splits space-joined values and merges repeats (docker and skopeo forms)", () => {
    expect(parseScopes(["repository:acme/third:pull,push repository:acme/other:pull", "repository:acme/third:delete", "repository:acme/other:pull"])).toEqual([
      { type: "repository", name: "acme/third", actions: ["pull", "push", "delete"] },
      { type: "repository", name: "acme/other", actions: ["pull"] },
    ]);
  });

  it("keeps scopes with different classes apart", () => {
    expect(parseScopes(["repository:a:pull", "repository(plugin):a:pull"])).toHaveLength(2);
  });

  it("treats no scope as a login", () => {
    expect(parseScopes([])).toEqual([]);
    expect(parseScopes([""])).toEqual([]);
  });

  it("bounds the number of scopes", () => {
    const many = Array.from({ length: MAX_SCOPES + 1 }, (_, i) => `repository:r${i}:pull`);
    expect(() => parseScopes(many)).toThrow(expect.objectContaining({ code: "SCOPE_TOO_MANY" }));
    expect(parseScopes(many.slice(0, MAX_SCOPES))).toHaveLength(MAX_SCOPES);
  });
});

const component = fc.stringMatching(/^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/, { maxLength: 20 }).filter((s) => s.length > 0);
const repoName = fc.array(component, { minLength: 1, maxLength: 4 }).map((parts) => parts.join("/")).filter((n) => n.length <= 255);
const scopeArb: fc.Arbitrary<ResourceScope> = fc.record(
  {
    type: fc.constant("repository"),
    class: fc.option(fc.constantFrom("plugin", "image"), { nil: undefined }),
    name: repoName,
    actions: fc.uniqueArray(fc.constantFrom("pull", "push", "delete", "*"), { minLength: 1 }),
  },
  { requiredKeys: ["type", "name", "actions"] },
).map((s) => (s.class === undefined ? { type: s.type, name: s.name, actions: s.actions } : s));

// Thousands of runs each: generous timeouts, so a busy machine can't fail them.
describe("properties", { timeout: 60_000 }, () => {
  it("parse(format(x)) round-trips", () => {
    fc.assert(
      fc.property(scopeArb, (scope) => {
        expect(parseScope(formatScope(scope))).toEqual(scope);
      }),
    );
  });

  it("junk never throws anything but a ScopeError", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400, unit: "binary" }), (junk) => {
        try {
          const parsed = parseScopes([junk]);
          for (const s of parsed) expect(parseScope(formatScope(s))).toEqual(s);
        } catch (error) {
          expect(error).toBeInstanceOf(ScopeError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("junk built from the grammar's own characters never throws anything but a ScopeError", () => {
    const grammarish = fc.string({ unit: fc.constantFrom(..."repository:registry(plugin)/a0.-_,* :%".split("")), maxLength: 80 });
    fc.assert(
      fc.property(grammarish, (junk) => {
        try {
          parseScopes([junk]);
        } catch (error) {
          expect(error).toBeInstanceOf(ScopeError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
