import { describe, expect, it } from "vitest";
import { jsonToCel, scopeToCel } from "./cel-values.ts";

describe("jsonToCel", () => {
  it("maps JSON to CEL maps, lists and scalars, dropping what JSON can't hold", () => {
    expect(jsonToCel({ a: [1, "x", null, true], b: { c: 2 }, f: () => 1, n: Number.NaN })).toEqual(
      new Map<string, unknown>([
        ["a", [1, "x", null, true]],
        ["b", new Map([["c", 2]])],
      ]),
    );
  });
});

describe("scopeToCel", () => {
  it("binds class as an empty string when absent", () => {
    expect(scopeToCel({ type: "repository", name: "a/b", action: "push" }).get("class")).toBe("");
  });
});
