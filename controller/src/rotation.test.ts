import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { rotationTime } from "./rotation.ts";

describe("rotationTime", () => {
  const hour = 3_600_000;

  it("is a third of the remaining lifetime with ±25 % jitter", () => {
    expect(rotationTime(0, hour, () => 0)).toBe(hour / 4);
    expect(rotationTime(0, hour, () => 0.5)).toBe(hour / 3);
    expect(rotationTime(0, hour, () => 1)).toBe(Math.floor((hour * 5) / 12));
  });

  it("always falls after issue and well before expiry", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2e12 }), fc.integer({ min: 600_000, max: 1e10 }), fc.double({ min: 0, max: 1, noNaN: true }), (issued, lifetime, r) => {
        const at = rotationTime(issued, issued + lifetime, () => r);
        expect(at).toBeGreaterThan(issued);
        expect(issued + lifetime - at).toBeGreaterThanOrEqual(lifetime * (7 / 12) - 1);
      }),
    );
  });

  it("spreads tokens issued together", () => {
    const times = new Set(Array.from({ length: 50 }, () => rotationTime(0, hour)));
    expect(times.size).toBeGreaterThan(40);
  });

  it("rotates immediately for a token that already expired", () => {
    expect(rotationTime(1000, 500)).toBe(1000);
  });
});
