import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatBearerChallenge, parseBearerChallenge, parseWwwAuthenticate } from "./www-authenticate.ts";

describe("formatBearerChallenge", () => {
  it("formats what Distribution sends", () => {
    expect(formatBearerChallenge({ realm: "https://auth.example.com/token", service: "registry.example.com", scope: "repository:acme/app:pull,push" })).toBe(
      'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:acme/app:pull,push"',
    );
  });

  it("adds the error for an insufficient token and escapes quoted-strings", () => {
    expect(formatBearerChallenge({ realm: 'a"b\\c', error: "insufficient_scope" })).toBe('Bearer realm="a\\"b\\\\c",error="insufficient_scope"');
  });

  it("drops control characters so a header can't be split", () => {
    expect(formatBearerChallenge({ realm: "x\r\nSet-Cookie: y" })).toBe('Bearer realm="xSet-Cookie: y"');
  });
});

describe("parseWwwAuthenticate", () => {
  it("parses several challenges and unquoted values", () => {
    expect(parseWwwAuthenticate('Basic realm="Registry Realm", Bearer realm="https://a/token",service=reg,scope="repository:a:pull"')).toEqual([
      { scheme: "Basic", params: { realm: "Registry Realm" } },
      { scheme: "Bearer", params: { realm: "https://a/token", service: "reg", scope: "repository:a:pull" } },
    ]);
  });

  it("survives junk", () => {
    for (const junk of ["", ",,,", "Bearer", 'Bearer realm="unterminated', "Bearer =x", "Bearer realm=", '"quoted"']) {
      expect(() => parseWwwAuthenticate(junk)).not.toThrow();
    }
    expect(parseBearerChallenge("Basic realm=x")).toBeUndefined();
  });

  it("round-trips any challenge it formats", () => {
    // eslint-disable-next-line no-control-regex -- control characters are what is being stripped
    const value = fc.string({ maxLength: 60 }).map((s) => s.replace(/[\u0000-\u001f\u007f]/g, ""));
    fc.assert(
      fc.property(value, value, value, (realm, service, scope) => {
        const challenge = { realm, ...(service && { service }), ...(scope && { scope }) };
        expect(parseBearerChallenge(formatBearerChallenge(challenge))).toEqual(challenge);
      }),
    );
  });
});
