import { describe, expect, it } from "vitest";
import { heapIntervalSeconds, heapRows, heapVerdict, soakSeconds, windows, type HeapSeries } from "./soak.ts";

describe("windows", () => {
  it("averages per-second counts over consecutive full windows, leaving out the draining tail", () => {
    expect(windows([10, 20, 30, 40, 50], 2)).toEqual([15, 35]);
    expect(windows([])).toEqual([]);
  });
});

describe("soakSeconds", () => {
  it("defaults to 60 s and takes whole seconds from BENCH_SOAK_SECONDS", () => {
    expect(soakSeconds(undefined)).toBe(60);
    expect(soakSeconds("")).toBe(60);
    expect(soakSeconds("10")).toBe(10);
  });
  it("refuses anything but whole seconds from 1 to 3600, naming the variable", () => {
    for (const bad of ["0", "-5", "1.5", "ten", "3601"]) expect(() => soakSeconds(bad)).toThrow(/BENCH_SOAK_SECONDS/);
  });
});

describe("heapIntervalSeconds", () => {
  it("reads the heap every 10 s window, or five times in a shorter soak", () => {
    expect(heapIntervalSeconds(60)).toBe(10);
    expect(heapIntervalSeconds(10)).toBe(2);
  });
});

const MiB = 1024 * 1024;
const series = (liveEndMiB: number, reservedMiB: number): HeapSeries => ({
  liveStart: { usedBytes: 5 * MiB, totalBytes: 8 * MiB },
  liveEnd: { usedBytes: liveEndMiB * MiB, totalBytes: 9 * MiB },
  samples: [{ seconds: 10, usedBytes: 30 * MiB, totalBytes: reservedMiB * MiB, rssBytes: 200 * MiB }],
});

describe("heapRows", () => {
  it("lists the live heap after GC at start and end around the readings under load", () => {
    expect(heapRows(series(6, 40))).toEqual([
      ["start, after GC", "", "5.0 MiB", "8.0 MiB"],
      ["10 s", "200.0 MiB", "30.0 MiB", "40.0 MiB"],
      ["end, after GC", "", "6.0 MiB", "9.0 MiB"],
    ]);
  });
});

describe("heapVerdict", () => {
  it("says met when live ≤ 16 MiB and reserved ≤ 64 MiB", () => {
    expect(heapVerdict(series(6, 40))).toMatch(/5\.0 MiB → 6\.0 MiB.*met\);.*at most 40\.0 MiB.*met\)/);
  });
  it("says missed for either target on its own", () => {
    expect(heapVerdict(series(20, 40))).toMatch(/flat: missed.*connections: met/);
    expect(heapVerdict(series(6, 95))).toMatch(/flat: met.*connections: missed/);
  });
});
