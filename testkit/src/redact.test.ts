import { describe, expect, it } from "vitest";
import { redactSecrets, sha256Hex } from "./redact.ts";

const jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";

describe("redactSecrets", () => {
  it("replaces JWTs by a hash prefix", () => {
    const out = redactSecrets(`password=${jwt} end`);
    expect(out).not.toContain(jwt);
    expect(out).toContain(`<jwt sha256:${sha256Hex(jwt).slice(0, 12)}>`);
  });
  it("replaces Basic credentials and secret JSON fields", () => {
    const out = redactSecrets(`Authorization: Basic dXNlcjpwYXNzd29yZA== {"auth":"dXNlcjo=","identitytoken":"opaque-refresh","digest":"sha256:ab"}`);
    expect(out).not.toMatch(/dXNlcjpwYXNzd29yZA==|dXNlcjo=|opaque-refresh/);
    expect(out).toContain('"digest":"sha256:ab"');
  });
  it("leaves ordinary text alone", () => {
    expect(redactSecrets("copying blob sha256:abc 1.0 KiB")).toBe("copying blob sha256:abc 1.0 KiB");
  });
});
