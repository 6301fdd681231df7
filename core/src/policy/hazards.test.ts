import { parse } from "@bufbuild/cel";
import { describe, expect, it } from "vitest";
import { findHazards, isAnchoredPattern } from "./hazards.ts";

/** "offset message" for each hazard. */
function hazards(source: string): string[] {
  return findHazards(parse(source)).map((h) => `${h.offset ?? "-"} ${h.message}`);
}

describe("findHazards: negated action checks", () => {
  it.each([
    ['scope.action != "delete"', 0],
    ['scope.type == "repository" && scope.action != "delete"', 30],
    // A negated comparison is placed at the comparison itself.
    ['!(scope["action"] in ["delete"])', 2],
    ['!(scope.action == "delete")', 2],
    ['!(scope.name == "x" || scope.action == "delete")', 23],
    ['"delete" != scope.action', 0],
  ])("%s warns at offset %i with the safe form", (source, offset) => {
    expect(hazards(source)).toEqual([`${offset} negated action check: it grants every action it does not name — "*" (every action, where the condition names it) and any action added later; list the actions granted instead, e.g. scope.action in ["pull", "push"]`]);
  });

  it.each(['scope.action in ["pull", "push"]', 'scope.action == "pull" || scope.action == "*"', '!(scope.action != "pull")', '!(scope.name == "x") && scope.action == "pull"'])("%s is fine", (source) => {
    expect(hazards(source)).toEqual([]);
  });
});

describe("findHazards: unanchored matches()", () => {
  it("warns on a search over scope.name, showing the anchored pattern", () => {
    expect(hazards('scope.name.matches("acme/[a-z]+")')).toEqual([
      '0 unanchored matches() over scope.name: matches() is a search, so "acme/[a-z]+" is true for any scope.name that contains a match; anchor it: scope.name.matches("^acme/[a-z]+$")',
    ]);
  });

  it.each([
    ['claims.sub.matches("^repo:acme/")', "claims.sub", "^repo:acme/$"],
    ['matches(claims["kubernetes.io"].namespace, "team-a$")', 'claims["kubernetes.io"].namespace', "^team-a$"],
    ['scope.name.matches("^acme/.*|^public/.*$")', "scope.name", "^(?:acme/.*|^public/.*)$"],
    ['claims.sub.matches("(?m)^a$")', "claims.sub", "(?m)^a$"],
    ['claims.groups.exists(g, g == "x") && service.matches("registry")', "service", "^registry$"],
  ])("%s warns for %s", (source, subject, anchored) => {
    const [warning] = hazards(source);
    expect(warning).toContain(`unanchored matches() over ${subject}:`);
    expect(warning).toContain(`anchor it: ${subject}.matches(${JSON.stringify(anchored)})`);
  });

  it.each(['scope.name.matches("^acme/[a-z]+$")', 'claims.sub.matches("\\\\Arepo:acme/[^:]+:ref:refs/heads/main\\\\z")', 'scope.name.matches("^(acme|public)/[a-z|]+$")', '"x".matches("y")', 'scope.name.matches(claims.pattern)'])(
    "%s is fine",
    (source) => {
      expect(hazards(source)).toEqual([]);
    },
  );
});

describe("findHazards: negated membership or equality over claims", () => {
  it("warns on !(claim in [...]) with the guarded form", () => {
    expect(hazards('!(claims.team in ["blocked"])')).toEqual([
      '2 negated membership over claims.team: it is true when claims.team is null, a list or a map (the issuer decides the claim\'s shape), so the condition grants; guard the type — type(claims.team) == string && … — or grant by an allow-list (claims.team in [...])',
    ]);
  });

  it.each([
    ['claims.team != "blocked"', "negated equality over claims.team"],
    ['scope.action == "pull" && !(claims["kubernetes.io"].namespace == "kube-system")', 'negated equality over claims["kubernetes.io"].namespace'],
    ['type(claims.other) == string && !(claims.team in ["blocked"])', "negated membership over claims.team"],
  ])("%s warns", (source, expected) => {
    expect(hazards(source)).toEqual([expect.stringContaining(expected)]);
  });

  it.each([
    'type(claims.team) == string && !(claims.team in ["blocked"])',
    'claims.team in ["a", "b"]',
    'claims.team != null',
    '!("blocked" in claims.groups)',
    '!(claims.team != "x")',
  ])("%s is fine", (source) => {
    expect(hazards(source)).toEqual([]);
  });
});

describe("isAnchoredPattern", () => {
  it.each([
    ["^a$", true],
    ["(?i)^a$", true],
    ["^[$]$", true],
    ["^a\\$", false],
    ["^a|b$", false],
    ["^(a|b)$", true],
    ["^[|]$", true],
    ["a$", false],
    ["^a", false],
    ["(?m)^a$", false],
  ])("%s → %s", (pattern, anchored) => {
    expect(isAnchoredPattern(pattern)).toBe(anchored);
  });
});
