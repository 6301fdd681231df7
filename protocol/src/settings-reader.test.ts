import { describe, expect, it } from "vitest";
import { settingsReader } from "./settings-reader.ts";

interface Env {
  A?: string;
  B?: object;
  OTHER?: string;
}

describe("settingsReader", () => {
  it("reads once per env object, and once per change of the named settings", () => {
    let reads = 0;
    const read = settingsReader<Env, { a: string | undefined }>(["A", "B"], (env) => ({ a: env.A, n: ++reads }));
    const binding = {};
    const env = { A: "x", B: binding };
    const first = read(env);
    expect(read(env)).toBe(first);
    // Same values in a new object (and an unrelated key changed): still the same settings.
    expect(read({ A: "x", B: binding, OTHER: "y" })).toBe(first);
    expect(reads).toBe(1);
    // A binding compares by identity, a string by value.
    expect(read({ A: "x", B: {} })).not.toBe(first);
    expect(read({ A: "z", B: binding }).a).toBe("z");
    expect(reads).toBe(3);
  });

  it("keeps no failure: a read that throws or rejects is read again", async () => {
    let reads = 0;
    const sync = settingsReader<Env, number>(["A"], () => {
      reads += 1;
      throw new Error("bad");
    });
    const env = { A: "x" };
    expect(() => sync(env)).toThrow("bad");
    expect(() => sync(env)).toThrow("bad");
    expect(reads).toBe(2);

    let attempts = 0;
    const async = settingsReader<Env, Promise<number>>(["A"], async () => {
      attempts += 1;
      if (attempts === 1) throw new Error("first");
      return attempts;
    });
    await expect(async(env)).rejects.toThrow("first");
    await expect(async(env)).resolves.toBe(2);
    await expect(async(env)).resolves.toBe(2);
  });
});
