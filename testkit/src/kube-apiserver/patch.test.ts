import { describe, expect, it } from "vitest";
import { applyJsonPatch, applyMergePatch } from "./patch.ts";
import type { StatusError } from "./status.ts";

describe("merge patch (RFC 7386)", () => {
  it("merges objects, replaces arrays, deletes on null", () => {
    const target = { a: { b: 1, c: 2 }, list: [1, 2], gone: true };
    expect(applyMergePatch(target, { a: { c: 3, d: 4 }, list: [3], gone: null })).toEqual({ a: { b: 1, c: 3, d: 4 }, list: [3] });
    expect(target).toEqual({ a: { b: 1, c: 2 }, list: [1, 2], gone: true });
  });
});

describe("json patch (RFC 6902)", () => {
  const doc = { metadata: { name: "x", resourceVersion: "5" }, imagePullSecrets: [{ name: "a" }] };

  it("adds, replaces, removes and appends", () => {
    const out = applyJsonPatch(doc, [
      { op: "add", path: "/imagePullSecrets/-", value: { name: "b" } },
      { op: "replace", path: "/metadata/name", value: "y" },
      { op: "add", path: "/secrets", value: [] },
      { op: "remove", path: "/imagePullSecrets/0" },
      { op: "copy", from: "/metadata/name", path: "/metadata/alias" },
    ]);
    expect(out).toEqual({ metadata: { name: "y", resourceVersion: "5", alias: "y" }, imagePullSecrets: [{ name: "b" }], secrets: [] });
    expect(doc.imagePullSecrets).toHaveLength(1);
  });

  it("fails the whole patch with 422 when a test op fails", () => {
    try {
      applyJsonPatch(doc, [{ op: "test", path: "/metadata/resourceVersion", value: "4" }]);
      expect.unreachable();
    } catch (error) {
      expect((error as StatusError).code).toBe(422);
    }
  });

  it.each([
    [[{ op: "remove", path: "/nope" }], 422],
    [[{ op: "replace", path: "/imagePullSecrets/3", value: 1 }], 422],
    [[{ op: "jump", path: "/a" }], 400],
    [{ op: "add" }, 400],
  ])("rejects %j with %i", (ops, code) => {
    try {
      applyJsonPatch(doc, ops);
      expect.unreachable();
    } catch (error) {
      expect((error as StatusError).code).toBe(code);
    }
  });
});
