import { describe, expect, it } from "vitest";
import { parseFieldSelector, parseLabelSelector } from "./selectors.ts";
import { StatusError } from "./status.ts";

describe("label selectors", () => {
  const labels = { team: "a", tier: "web", "example.com/opt-in": "true" };

  it.each([
    ["", true],
    ["team=a", true],
    ["team==a", true],
    ["team!=a", false],
    ["team=b", false],
    ["team", true],
    ["!team", false],
    ["!missing", true],
    ["missing!=x", true],
    ["team in (a, b)", true],
    ["team notin (a,b)", false],
    ["tier in (db)", false],
    ["team=a,tier=web", true],
    ["team=a,tier in (db,cache)", false],
    ["example.com/opt-in=true", true],
  ])("%j → %s", (selector, expected) => {
    expect(parseLabelSelector(selector)(labels)).toBe(expected);
  });

  it.each(["team=a b", "=a", "team in a", "bad key=x"])("rejects %j with 400", (selector) => {
    try {
      parseLabelSelector(selector);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(StatusError);
      expect((error as StatusError).code).toBe(400);
    }
  });
});

describe("field selectors", () => {
  const fields = { "metadata.name": "sa-1", "metadata.namespace": "team-a" };
  it.each([
    ["metadata.name=sa-1", true],
    ["metadata.name==sa-2", false],
    ["metadata.namespace!=team-a", false],
    ["metadata.name=sa-1,metadata.namespace=team-a", true],
  ])("%j → %s", (selector, expected) => {
    expect(parseFieldSelector(selector)(fields)).toBe(expected);
  });

  it("has no set-based operators", () => {
    expect(() => parseFieldSelector("metadata.name in (a)")).toThrow(StatusError);
  });
});
