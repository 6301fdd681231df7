import { describe, expect, it } from "vitest";
import { compatibilityDateOf } from "./bundle.ts";

describe("compatibilityDateOf", () => {
  it("reads the top-level compatibility_date of a wrangler.toml", () => {
    expect(compatibilityDateOf('name = "x"\nmain = "src/index.ts"\ncompatibility_date = "2026-04-20"\n')).toBe("2026-04-20");
  });

  it("fails when there is none", () => {
    expect(() => compatibilityDateOf('name = "x"\n# compatibility_date = "2026-04-20"\n')).toThrow(/no compatibility_date/);
  });
});
