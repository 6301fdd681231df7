import { describe, expect, it } from "vitest";
import { parseGoDuration } from "./duration.ts";

describe("parseGoDuration", () => {
  it.each([
    ["1h", 3600],
    ["90m", 5400],
    ["1h30m", 5400],
    ["1.5h", 5400],
    ["3600s", 3600],
    ["1500ms", 1.5],
    ["24h", 86400],
  ])("%s = %d s", (text, seconds) => {
    expect(parseGoDuration(text)).toBe(seconds);
  });

  it.each(["", "1", "h", "1d", "-1h", "0s", "1h ", " 1h", "1hh"])("%j is not a duration", (text) => {
    expect(parseGoDuration(text)).toBeUndefined();
  });
});
