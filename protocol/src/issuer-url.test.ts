import { describe, expect, it } from "vitest";
import { checkIssuerUrl, isLoopbackHostname } from "./issuer-url.ts";

describe("checkIssuerUrl", () => {
  it.each([
    "https://token.actions.githubusercontent.com",
    "https://issuer.example.com:8443/tenant/",
    "https://oidc.example.com/keys?format=jwks",
  ])("accepts https %s whatever the loopback setting", (url) => {
    expect(checkIssuerUrl(url, false).ok).toBe(true);
    expect(checkIssuerUrl(url, true).ok).toBe(true);
  });

  it.each(["http://127.0.0.1:8080/gh", "http://127.9.8.7", "http://localhost:1234/x", "http://[::1]:99/", "http://127.1/", "http://0x7f.0.0.1/"])(
    "accepts http loopback %s only when the setting is on",
    (url) => {
      expect(checkIssuerUrl(url, true).ok).toBe(true);
      expect(checkIssuerUrl(url, false)).toEqual({ ok: false, detail: "http loopback issuers are disabled (ALLOW_HTTP_LOOPBACK_ISSUERS)" });
    },
  );

  it.each(["http://example.com", "http://127.0.0.1.example.com/", "http://10.0.0.1/", "http://[::ffff:127.0.0.1]/", "http://localhost.example.com/"])(
    "refuses http to a non-loopback host %s",
    (url) => {
      expect(checkIssuerUrl(url, true)).toEqual({ ok: false, detail: "http is only allowed to a loopback host" });
    },
  );

  it.each([
    ["https://user:pw@issuer.example.com", "URL has userinfo"],
    ["https://user@issuer.example.com", "URL has userinfo"],
    ["https://issuer.example.com/#frag", "URL has a fragment"],
    ["https://issuer.example.com/#", "URL has a fragment"],
    ["ftp://issuer.example.com", "URL scheme is not https"],
    ["file:///etc/passwd", "URL scheme is not https"],
    ["javascript:alert(1)", "URL scheme is not https"],
    ["issuer.example.com", "not an absolute URL"],
    ["", "not an absolute URL"],
  ])("refuses %s", (url, detail) => {
    expect(checkIssuerUrl(url, true)).toEqual({ ok: false, detail });
  });
});

describe("isLoopbackHostname", () => {
  it("knows loopback names only in their normalised form", () => {
    expect(isLoopbackHostname("127.0.0.1")).toBe(true);
    expect(isLoopbackHostname("localhost")).toBe(true);
    expect(isLoopbackHostname("[::1]")).toBe(true);
    expect(isLoopbackHostname("128.0.0.1")).toBe(false);
    expect(isLoopbackHostname("::1")).toBe(false);
  });
});
