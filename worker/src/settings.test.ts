import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { es256b } from "@jwt-registry-auth/core/signing-keys/fixtures/openssl-keys";
import type { Env } from "./env.ts";
import { loadSettings } from "./settings.ts";

const configured = env as Env;

describe("loadSettings", () => {
  it("parses the settings and imports the signing keys once per isolate and settings change", async () => {
    const first = await loadSettings(configured);
    expect(await loadSettings(configured)).toBe(first);
    // A new env object with the same values (and an unrelated binding) keeps them.
    const again = await loadSettings({ ...configured, UNRELATED: "x" } as Env);
    expect(again).toBe(first);
    expect(again.signing).toBe(first.signing);
    // A changed key is read again.
    const rotated = await loadSettings({ ...configured, SIGNING_KEY: es256b.key, SIGNING_CERT: es256b.cert });
    expect(rotated.signing).not.toBe(first.signing);
    expect(rotated.signing.current.kid).not.toBe(first.signing.current.kid);
  });
});
