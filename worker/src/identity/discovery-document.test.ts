import { describe, expect, it } from "vitest";
import { parseDiscovery } from "./discovery-document.ts";

describe("parseDiscovery", () => {
  const issuer = "https://token.actions.githubusercontent.com";

  it("takes jwks_uri when the issuer matches exactly", () => {
    expect(parseDiscovery({ issuer, jwks_uri: `${issuer}/.well-known/jwks` }, issuer)).toEqual({ ok: true, value: { jwksUri: `${issuer}/.well-known/jwks` } });
  });

  it.each([
    [{ issuer: `${issuer}/`, jwks_uri: "https://x/jwks" }, "discovery issuer does not match the configured issuer"],
    [{ issuer: issuer.toUpperCase(), jwks_uri: "https://x/jwks" }, "discovery issuer does not match the configured issuer"],
    [{ jwks_uri: "https://x/jwks" }, "discovery issuer does not match the configured issuer"],
    [{ issuer }, "discovery document has no jwks_uri"],
    [{ issuer, jwks_uri: 42 }, "discovery document has no jwks_uri"],
    [[issuer], "discovery document is not a JSON object"],
    [null, "discovery document is not a JSON object"],
  ])("refuses %j", (value, detail) => {
    expect(parseDiscovery(value, issuer)).toEqual({ ok: false, detail });
  });
});
