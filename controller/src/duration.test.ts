import { describe, expect, it } from "vitest";
import { formatGoDuration, parseDuration } from "./duration.ts";

describe("parseDuration", () => {
  it.each([
    ["1h", 3_600_000],
    ["90s", 90_000],
    ["1h30m", 5_400_000],
    ["1.5h", 5_400_000],
    ["250ms", 250],
    ["600", 600_000],
    [" 10m ", 600_000],
  ])("%j → %i ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(["", "h", "1d", "-5s", "1h 30m", "5 s", "1e3s"])("rejects %j", (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe("formatGoDuration", () => {
  it.each([
    [0, "0s"],
    [45, "45s"],
    [300, "5m0s"],
    [3600, "1h0m0s"],
    [3725.9, "1h2m5s"],
    [-3, "0s"],
  ])("%d s → %s", (seconds, text) => {
    expect(formatGoDuration(seconds)).toBe(text);
  });
});
