import { parse } from "@bufbuild/cel";
import { describe, expect, it } from "vitest";
import { namesWildcardAction } from "./wildcard-action.ts";

describe("namesWildcardAction", () => {
  it.each([
    'scope.action == "*"',
    '"*" == scope["action"]',
    'scope.action in ["pull", "*"]',
    'scope.type == "registry" && scope.name == "catalog" && scope.action == "*"',
    '[1].exists(x, scope.action == "*")',
  ])("%s names it", (source) => {
    expect(namesWildcardAction(parse(source))).toBe(true);
  });

  it.each([
    "true",
    'scope.action != "delete"',
    '!(scope.action in ["delete"])',
    'scope.action.startsWith("*")',
    'scope.name == "*"',
    'scope.action in claims.actions',
    'claims.action == "*"',
    // A comprehension variable named scope is not the request's scope.
    '[{"action": "*"}].exists(scope, scope.action == "*")',
  ])("%s does not", (source) => {
    expect(namesWildcardAction(parse(source))).toBe(false);
  });
});
