import { describe, expect, it } from "vitest";
import { DevVarsError, formatDevVar, updateDevVars } from "./dev-vars.ts";
import { wranglerDevVars } from "./wrangler-dev-vars.ts";

const KEY = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\nabc+/=\n-----END PRIVATE KEY-----\n";
const CERT = "-----BEGIN CERTIFICATE-----\nMIIBrTCCAVOgAwIBAgIU\n-----END CERTIFICATE-----\n";

describe("updateDevVars", () => {
  it("writes one line per PEM that wrangler reads back byte for byte", () => {
    const text = updateDevVars("", { SIGNING_KEY: KEY, SIGNING_CERT: CERT });
    expect(text.split("\n")).toHaveLength(3);
    expect(text).toContain('SIGNING_KEY="-----BEGIN PRIVATE KEY-----\\nMIGH');
    expect(wranglerDevVars(text)).toEqual({ SIGNING_KEY: KEY, SIGNING_CERT: CERT });
  });

  it("keeps the other lines and replaces old values in place, even multi-line quoted ones", () => {
    const before = [
      "# local settings",
      'TOKEN_ISSUER="dev"',
      'SIGNING_KEY="-----BEGIN PRIVATE KEY-----',
      "OLDKEY",
      '-----END PRIVATE KEY-----"',
      "export ALLOW_HTTP_LOOPBACK_ISSUERS=true # for tests",
      "SIGNING_CERT='old cert'",
      'OTHER="a\\nb"',
      "SIGNING_KEY=duplicate-dropped",
      "",
    ].join("\n");
    const after = updateDevVars(before, { SIGNING_KEY: KEY, SIGNING_CERT: CERT });
    const lines = after.split("\n");
    expect(lines[0]).toBe("# local settings");
    expect(lines[1]).toBe('TOKEN_ISSUER="dev"');
    expect(lines[2]).toMatch(/^SIGNING_KEY="/);
    expect(lines[3]).toBe("export ALLOW_HTTP_LOOPBACK_ISSUERS=true # for tests");
    expect(lines[4]).toMatch(/^SIGNING_CERT="/);
    expect(lines[5]).toBe('OTHER="a\\nb"');
    expect(lines).toHaveLength(7);
    expect(after).not.toMatch(/OLDKEY|old cert|duplicate/);
    expect(wranglerDevVars(after)).toEqual({ TOKEN_ISSUER: "dev", SIGNING_KEY: KEY, ALLOW_HTTP_LOOPBACK_ISSUERS: "true", SIGNING_CERT: CERT, OTHER: "a\nb" });
  });

  it("is idempotent and handles CRLF files and files without a final newline", () => {
    const once = updateDevVars("A=1\r\nB=2", { SIGNING_KEY: KEY });
    expect(once).toBe(`A=1\nB=2\n${formatDevVar("SIGNING_KEY", KEY)}\n`);
    expect(updateDevVars(once, { SIGNING_KEY: KEY })).toBe(once);
    expect(wranglerDevVars(once)).toEqual({ A: "1", B: "2", SIGNING_KEY: KEY });
  });

  it("treats an unclosed quote as dotenv does: that line only", () => {
    const after = updateDevVars('SIGNING_KEY="unclosed\nKEEP=1\n', { SIGNING_KEY: KEY });
    expect(wranglerDevVars(after)).toEqual({ SIGNING_KEY: KEY, KEEP: "1" });
  });

  it("refuses values dotenv can't carry", () => {
    expect(() => formatDevVar("X", 'a"b')).toThrow(DevVarsError);
    expect(() => formatDevVar("X", "a\\nb")).toThrow(DevVarsError);
    expect(() => formatDevVar("X", "a\r\nb")).toThrow(DevVarsError);
    expect(() => formatDevVar("BAD NAME", "v")).toThrow(DevVarsError);
  });
});
