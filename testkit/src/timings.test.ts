import { describe, expect, it } from "vitest";
import { createTimings } from "./timings.ts";

describe("createTimings", () => {
  it("records each step, failed ones too, and formats a table", async () => {
    const timings = createTimings();
    expect(await timings.measure("fast", async () => 42)).toBe(42);
    await expect(timings.measure("fails", () => new Promise((_, reject) => setTimeout(() => reject(new Error("x")), 30)))).rejects.toThrow("x");
    expect(timings.entries.map((e) => e.name)).toEqual(["fast", "fails"]);
    expect(timings.entries[1]?.ms).toBeGreaterThanOrEqual(25);
    expect(timings.format("suite")).toMatch(/^suite timings:\n {2}fast {2}\s+\d+ ms\n {2}fails\s+\d+ ms$/);
  });
});
