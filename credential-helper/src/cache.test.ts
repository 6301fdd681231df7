import { describe, expect, it } from "vitest";
import { cachePath, isFresh, renewMargin } from "./cache.ts";

const entry = (issuedAt: number, lifetime: number, service = "svc") => ({ refreshToken: "rt", issuedAt, expiresAt: issuedAt + lifetime, service });

describe("when a cached refresh token is renewed", () => {
  it.each([
    [3600, 360], // 1 h: 10% (6 min) is more than 5 minutes
    [24 * 3600, 8640], // 1 day: 10% of the lifetime
    [600, 300], // 10 min: 5 minutes
    [300, 150], // 5 min: half of it, so it is still reused
  ])("a token living %i s is renewed %i s before expiry", (lifetime, margin) => {
    expect(renewMargin(entry(0, lifetime))).toBe(margin);
  });

  it("is fresh until the margin, and never for another service", () => {
    const e = entry(1000, 3600);
    expect(isFresh(e, 1000 + 3600 - 361)).toBe(true);
    expect(isFresh(e, 1000 + 3600 - 360)).toBe(false);
    expect(isFresh(e, 1000, "other")).toBe(false);
  });

  it("keys the cache file by registry and provider, inside the directory", () => {
    expect(cachePath("/c", "127.0.0.1:5000", "git/../lab")).toBe("/c/127.0.0.1%3A5000@git%2F..%2Flab.json");
  });
});
