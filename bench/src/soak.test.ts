import { describe, expect, it } from "vitest";
import { windows } from "./soak.ts";

describe("windows", () => {
  it("averages per-second counts over consecutive full windows, leaving out the draining tail", () => {
    expect(windows([10, 20, 30, 40, 50], 2)).toEqual([15, 35]);
    expect(windows([])).toEqual([]);
  });
});
