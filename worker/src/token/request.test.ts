import { describe, expect, it } from "vitest";
import { MAX_ACTIONS_PER_SCOPE, MAX_BODY_BYTES, MAX_SCOPES_PER_REQUEST, parseBasicAuth, parseTokenRequest } from "./request.ts";

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
      value: {
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
    expect(await parseTokenRequest(req)).toMatchObject({ ok: true, value: { grant: "password", offline: true, clientId: "docker", scopes: [] } });
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
      value: { grant: "refresh_token", refreshToken: "rt", service: "reg", scopes: [{ name: "acme/app" }, { name: "acme/b" }] },
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
    expect(await parseTokenRequest(req)).toMatchObject({ ok: true, value: { grant: "password", provider: "gha", token: "jwt", offline: true } });
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

  describe("credentials in the query of a POST", () => {
    it.each([
      ["password grant", "username=gha&password=jwt", [["grant_type", "password"], ["service", "reg"]], "username"],
      ["a password alone", "password=jwt", [["grant_type", "password"], ["username", "gha"], ["service", "reg"]], "password"],
      ["refresh grant", "grant_type=refresh_token&refresh_token=rt", [["service", "reg"]], "grant_type"],
      ["a refresh token alone", "refresh_token=rt", [["grant_type", "refresh_token"], ["service", "reg"]], "refresh_token"],
    ] as [string, string, [string, string][], string][])("are refused with 400 naming the rule: %s", async (_, query, body, named) => {
      const parsed = await parseTokenRequest(new Request(`http://t/token?${query}`, form(body)));
      expect(parsed).toEqual({
        ok: false,
        problem: { kind: "bad_request", message: `${named} must not be in the URL query of a POST: credentials go in the form body or the Authorization header` },
      });
    });

    it("are refused with an empty body too", async () => {
      const req = new Request("http://t/token?service=reg&username=gha&password=jwt", { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: "" });
      expect(await parseTokenRequest(req)).toMatchObject({ ok: false, problem: { kind: "bad_request", message: expect.stringContaining("URL query of a POST") } });
    });

    it("still reads service and scope from the query of a POST", async () => {
      const req = new Request("http://t/token?service=reg&scope=repository:acme/app:pull", form([["grant_type", "refresh_token"], ["refresh_token", "rt"]]));
      expect(await parseTokenRequest(req)).toMatchObject({ ok: true, value: { grant: "refresh_token", refreshToken: "rt", service: "reg", scopes: [{ name: "acme/app" }] } });
    });

    it("leaves GET as Distribution's clients send it (credentials in Basic, the rest in the query)", async () => {
      const req = new Request("http://t/token?account=gha&client_id=docker&offline_token=true&service=reg&scope=repository:acme/app:pull,push", { headers: { Authorization: basic("gha", "jwt") } });
      expect(await parseTokenRequest(req)).toMatchObject({ ok: true, value: { grant: "password", provider: "gha", token: "jwt", offline: true } });
    });
  });

  describe("caps on requested work", () => {
    const get = (scopes: string[]) =>
      parseTokenRequest(new Request(`http://t/token?service=reg&${scopes.map((s) => `scope=${encodeURIComponent(s)}`).join("&")}`, { headers: { Authorization: basic("gha", "jwt") } }));
    const repos = (n: number, actions: string) => Array.from({ length: n }, (_, i) => `repository:acme/app${i}:${actions}`);
    /** n distinct short action names: a…z, then aa, ab, … (the attack run's 120 fit in one scope). */
    const letters = (n: number) => Array.from({ length: n }, (_, i) => (i < 26 ? String.fromCharCode(97 + i) : String.fromCharCode(97 + Math.floor((i - 26) / 26), 97 + ((i - 26) % 26)))).join(",");

    it(`admits ${MAX_SCOPES_PER_REQUEST} scopes of ${MAX_ACTIONS_PER_SCOPE} actions`, async () => {
      const parsed = await get(repos(MAX_SCOPES_PER_REQUEST, letters(MAX_ACTIONS_PER_SCOPE)));
      expect(parsed.ok && parsed.value.scopes).toHaveLength(MAX_SCOPES_PER_REQUEST);
    });

    it("refuses one scope too many with 400 stating the cap", async () => {
      expect(await get(repos(MAX_SCOPES_PER_REQUEST + 1, "pull"))).toEqual({
        ok: false,
        problem: { kind: "bad_request", message: `${MAX_SCOPES_PER_REQUEST + 1} scopes in one request: at most ${MAX_SCOPES_PER_REQUEST} are allowed` },
      });
    });

    it("refuses the attack run's 64 scopes × 120 actions, and states the cap past the scope parser's own bound of 64", async () => {
      expect(await get(repos(64, letters(120)))).toMatchObject({ ok: false, problem: { kind: "bad_request", message: `64 scopes in one request: at most ${MAX_SCOPES_PER_REQUEST} are allowed` } });
      expect(await get(repos(65, "pull"))).toEqual({ ok: false, problem: { kind: "bad_request", message: `more than 64 scopes in one request: at most ${MAX_SCOPES_PER_REQUEST} are allowed` } });
      expect(await get([`repository:acme/app:${letters(120)}`])).toMatchObject({ ok: false, problem: { message: expect.stringContaining("asks for 120 actions") } });
    });

    it("refuses one action too many in a scope, counting distinct actions", async () => {
      expect(await get([`repository:acme/app:pull,pull,push,pull`])).toMatchObject({ ok: true });
      expect(await get(["repository:acme/a:pull", `repository:acme/b:${letters(MAX_ACTIONS_PER_SCOPE + 1)}`])).toEqual({
        ok: false,
        problem: { kind: "bad_request", message: `scope repository:acme/b asks for ${MAX_ACTIONS_PER_SCOPE + 1} actions: at most ${MAX_ACTIONS_PER_SCOPE} per scope are allowed` },
      });
    });

    it("counts a resource named twice once, with the union of its actions", async () => {
      const half = letters(MAX_ACTIONS_PER_SCOPE + 2).split(",");
      const parsed = await get([`repository:acme/a:${half.slice(0, 5).join(",")}`, `repository:acme/a:${half.slice(5).join(",")}`]);
      expect(parsed).toMatchObject({ ok: false, problem: { message: expect.stringContaining(`asks for ${MAX_ACTIONS_PER_SCOPE + 2} actions`) } });
    });
  });
});
