import { describe, expect, it } from "vitest";
import { freshLifetimeSeconds } from "./cache-control.ts";

const bounds = { minSeconds: 60, maxSeconds: 86_400, defaultSeconds: 300 };

describe("freshLifetimeSeconds", () => {
  it.each([
    [null, 300],
    ["", 300],
    ["public", 300],
    ["max-age=3600", 3600],
    ["public, max-age=19845, must-revalidate, no-transform", 19845],
    ["Max-Age=120", 120],
    ['max-age="120"', 120],
    ["s-maxage=10, max-age=600", 600],
    ["max-age=0", 60],
    ["max-age=59", 60],
    ["max-age=31536000", 86_400],
    ["max-age=-5", 300],
    ["max-age=abc", 300],
    ["no-cache", 60],
    ["private, no-store, max-age=3600", 60],
  ])("%j → %i s", (header, expected) => {
    expect(freshLifetimeSeconds(header, bounds)).toBe(expected);
  });
});
