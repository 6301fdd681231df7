import { describe, expect, it } from "vitest";
import { isValidRepositoryName, MAX_NAME_LENGTH } from "./names.ts";

describe("isValidRepositoryName", () => {
  it.each(["a", "acme/app", "a.b/c_d/e__f/g--h", "0/1/2", "x".repeat(MAX_NAME_LENGTH)])("accepts %s", (name) => {
    expect(isValidRepositoryName(name)).toBe(true);
  });

  it.each(["", "A", "acme/App", "acme/", "/acme", "acme//app", "..", "acme/../x", "acme/./x", "a%2fb", "a:b", "a b", "a___b", "a.-b", "-a", "x".repeat(MAX_NAME_LENGTH + 1), "localhost:5000/a"])(
    "rejects %j",
    (name) => {
      expect(isValidRepositoryName(name)).toBe(false);
    },
  );

  it("accepts a registry host prefix only when asked", () => {
    expect(isValidRepositoryName("localhost:5000/acme/app", { allowDomain: true })).toBe(true);
    expect(isValidRepositoryName("registry.example.com/acme", { allowDomain: true })).toBe(true);
    expect(isValidRepositoryName("bad_host:x/acme", { allowDomain: true })).toBe(false);
    // Without allowDomain a port can't appear: ':' is outside the path grammar.
    expect(isValidRepositoryName("localhost:5000/acme")).toBe(false);
  });
});
