import { describe, expect, it } from "vitest";
import { PROVIDER_KEYS, TOP_LEVEL_KEYS } from "./config.ts";
import { providersConfigSchema } from "./schema.ts";

describe("providersConfigSchema", () => {
  // The committed docs/providers.schema.json is checked against this object by cli/src/main.test.ts.
  it("names exactly the keys the parser accepts, at the top level and per provider", () => {
    expect(Object.keys(providersConfigSchema.properties).sort()).toEqual([...TOP_LEVEL_KEYS].sort());
    expect(Object.keys(providersConfigSchema.properties.providers.items.properties).sort()).toEqual([...PROVIDER_KEYS].sort());
  });
});
