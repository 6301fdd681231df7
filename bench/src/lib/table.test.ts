import { describe, expect, it } from "vitest";
import { fixed, formatTable, ms, ratio } from "./table.ts";

describe("formatTable", () => {
  it("pads every column to its widest cell", () => {
    expect(formatTable({ title: "T", columns: ["a", "bbb"], rows: [["long", "1"]] })).toBe("**T**\n\n| a    | bbb |\n| ---- | --- |\n| long | 1   |");
  });
});

describe("number formats", () => {
  it("shows microseconds as ms or s with sensible precision", () => {
    expect(ms(840)).toBe("0.84 ms");
    expect(ms(12_345)).toBe("12.3 ms");
    expect(ms(1_200_000)).toBe("1.20 s");
    expect(ms(Number.NaN)).toBe("–");
  });

  it("shows ratios and refuses to divide by zero", () => {
    expect(ratio(3, 2)).toBe("1.50×");
    expect(ratio(1, 0)).toBe("–");
    expect(fixed(Number.POSITIVE_INFINITY)).toBe("–");
  });
});
