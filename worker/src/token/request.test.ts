import { describe, expect, it } from "vitest";
import { MAX_BODY_BYTES, parseBasicAuth, parseTokenRequest } from "./request.ts";

const basic = (user: string, pass: string) => `Basic ${btoa(`${user}:${pass}`)}`;
const form = (fields: [string, string][]) => ({
  method: "POST",
  headers: { "Content-Type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams(fields).toString(),
});

describe("parseBasicAuth", () => {
  it("splits at the first colon (a JWT has none, a provider name has none)", () => {
    expect(parseBasicAuth(basic("gha", "a.b.c"))).toEqual({ username: "gha", password: "a.b.c" });
  });

  it.each([
    ["Bearer abc", "bad_credentials"],
    ["Basic", "bad_credentials"],
    ["Basic !!!!", "bad_credentials"],
    [`Basic ${btoa("no-colon")}`, "bad_credentials"],
    [`Basic ${btoa(":only-password")}`, "bad_credentials"],
    ["Basic //79", "bad_credentials"], // not UTF-8
  ])("rejects %j", (header, kind) => {
    expect(parseBasicAuth(header)).toMatchObject({ kind });
  });

  it("reports absent credentials as such", () => {
    expect(parseBasicAuth(null)).toEqual({ kind: "no_credentials" });
  });
});

describe("parseTokenRequest", () => {
  it("reads skopeo's GET", async () => {
    const req = new Request("http://t/token?account=gha&scope=repository%3Aacme%2Fother%3Apull%2Cpush&scope=repository%3Aacme%2Fapp%3Apull&service=reg", {
      headers: { Authorization: basic("gha", "jwt") },
    });
    expect(await parseTokenRequest(req)).toEqual({
      ok: true,
      request: {
        grant: "password",
        provider: "gha",
        token: "jwt",
        service: "reg",
        offline: false,
        scopes: [
          { type: "repository", name: "acme/other", actions: ["pull", "push"] },
          { type: "repository", name: "acme/app", actions: ["pull"] },
        ],
      },
    });
  });

  it("reads docker login's offline-token GET (no scope)", async () => {
    const req = new Request("http://t/token?account=gha&client_id=docker&offline_token=true&service=reg", { headers: { Authorization: basic("gha", "jwt") } });
    expect(await parseTokenRequest(req)).toMatchObject({ ok: true, request: { grant: "password", offline: true, clientId: "docker", scopes: [] } });
  });

  it("reads docker's refresh POST with space-joined scopes", async () => {
    const req = new Request(
      "http://t/token",
      form([
        ["client_id", "registry-client"],
        ["grant_type", "refresh_token"],
        ["refresh_token", "rt"],
        ["scope", "repository:acme/app:pull repository:acme/b:push"],
        ["service", "reg"],
      ]),
    );
    expect(await parseTokenRequest(req)).toMatchObject({
      ok: true,
      request: { grant: "refresh_token", refreshToken: "rt", service: "reg", scopes: [{ name: "acme/app" }, { name: "acme/b" }] },
    });
  });

  it("reads an OAuth password POST with form credentials", async () => {
    const req = new Request(
      "http://t/token",
      form([
        ["grant_type", "password"],
        ["username", "gha"],
        ["password", "jwt"],
        ["access_type", "offline"],
        ["service", "reg"],
      ]),
    );
    expect(await parseTokenRequest(req)).toMatchObject({ ok: true, request: { grant: "password", provider: "gha", token: "jwt", offline: true } });
  });

  it.each([
    ["no service", "http://t/token?scope=repository:a:pull", "bad_request", "service is required"],
    ["two services", "http://t/token?service=a&service=b", "bad_request", "more than once"],
    ["service with spaces", "http://t/token?service=a%20b", "bad_request", "not a valid service"],
    ["malformed scope", "http://t/token?service=a&scope=repository:A:pull", "bad_request", "invalid repository name"],
  ])("rejects %s", async (_, url, kind, message) => {
    const parsed = await parseTokenRequest(new Request(url, { headers: { Authorization: basic("gha", "jwt") } }));
    expect(parsed).toMatchObject({ ok: false, problem: { kind } });
    expect(JSON.stringify(parsed)).toContain(message);
  });

  it("asks for credentials when none are sent", async () => {
    expect(await parseTokenRequest(new Request("http://t/token?service=a"))).toEqual({ ok: false, problem: { kind: "no_credentials" } });
  });

  it("refuses an unknown grant and a non-form POST", async () => {
    expect(await parseTokenRequest(new Request("http://t/token", form([["grant_type", "client_credentials"], ["service", "a"]])))).toMatchObject({ ok: false, problem: { kind: "bad_request" } });
    expect(await parseTokenRequest(new Request("http://t/token", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" }))).toMatchObject({
      ok: false,
      problem: { kind: "bad_request" },
    });
  });

  it("caps the body even without a Content-Length", async () => {
    const big = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode("a".repeat(MAX_BODY_BYTES / 4)));
        controller.close();
      },
    });
    const req = new Request("http://t/token", { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: big });
    expect(await parseTokenRequest(req)).toEqual({ ok: false, problem: { kind: "too_large" } });
  });
});
