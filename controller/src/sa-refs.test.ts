import { describe, expect, it } from "vitest";
import { refsPatch, referencesSecret, updatedRefs } from "./sa-refs.ts";

describe("updatedRefs", () => {
  const sa = {
    metadata: { name: "app", resourceVersion: "7" },
    imagePullSecrets: [{ name: "theirs" }, { name: "old-ours" }],
    secrets: [{ name: "app-token-x", namespace: "team" }],
  };

  it("appends ours after the foreign entries and keeps them untouched", () => {
    expect(updatedRefs(sa, ["ours"], [])).toEqual({
      imagePullSecrets: [{ name: "theirs" }, { name: "old-ours" }, { name: "ours" }],
      secrets: [{ name: "app-token-x", namespace: "team" }, { name: "ours" }],
    });
  });

  it("removes only the names asked for", () => {
    expect(updatedRefs(sa, [], ["old-ours"])).toEqual({ imagePullSecrets: [{ name: "theirs" }], secrets: [{ name: "app-token-x", namespace: "team" }] });
  });

  it("is undefined when nothing changes, so no write is made", () => {
    const done = { ...sa, imagePullSecrets: [...sa.imagePullSecrets, { name: "ours" }], secrets: [...sa.secrets, { name: "ours" }] };
    expect(updatedRefs(done, ["ours"], ["not-there"])).toBeUndefined();
    expect(updatedRefs({ metadata: {} }, [], ["x"])).toBeUndefined();
  });

  it("never duplicates an entry", () => {
    const refs = updatedRefs({ metadata: {}, imagePullSecrets: [{ name: "ours" }] }, ["ours", "ours"], []);
    expect(refs).toEqual({ imagePullSecrets: [{ name: "ours" }], secrets: [{ name: "ours" }] });
  });

  it("builds a merge patch conditional on the resourceVersion", () => {
    expect(refsPatch("7", { imagePullSecrets: [{ name: "a" }], secrets: [] })).toEqual({ metadata: { resourceVersion: "7" }, imagePullSecrets: [{ name: "a" }], secrets: [] });
  });

  it("finds references in either list", () => {
    expect(referencesSecret(sa, "old-ours")).toBe(true);
    expect(referencesSecret(sa, "app-token-x")).toBe(true);
    expect(referencesSecret(sa, "nope")).toBe(false);
  });
});
