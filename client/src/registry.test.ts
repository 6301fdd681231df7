import { describe, expect, it } from "vitest";
import { serverPerTest } from "../test/http-server.ts";
import type { Fetch } from "./http.ts";
import { parseRegistryAddress as parseRegistry } from "./registry-address.ts";
import { LoginRefusedError, probeRegistry, proveLogin } from "./registry.ts";

const serve = serverPerTest();
const noRetry = { attempts: 1 };
const bearer = (origin: string) => ({ status: 401, headers: { "WWW-Authenticate": `Bearer realm="${origin}/token",service="svc"` } });

describe("probeRegistry", () => {
  it("for a loopback registry named without a scheme, falls back to plain http when the TLS handshake fails", async () => {
    const registry = await serve((_r, origin) => bearer(origin));
    const host = new URL(registry.url).host;
    // A real https attempt: the ClientHello reaches a plain-HTTP port, which answers 400 in clear text, and TLS fails.
    const probe = await probeRegistry(parseRegistry(host), fetch, noRetry);
    expect(probe).toEqual({ baseUrl: `http://${host}`, status: 401, challenge: { realm: `${registry.url}/token`, service: "svc" }, basic: false });
    expect(registry.requests.map((r) => r.url.pathname)).toEqual(["/v2/"]);
  });

  it.each(["localhost", "[::1]"])("falls back for %s too (a closed port: both attempts fail, both are named)", async (name) => {
    const gone = await serve(() => ({ status: 200 }));
    await gone.close();
    const port = new URL(gone.url).port;
    const probe = await probeRegistry(parseRegistry(`${name}:${port}`), fetch, noRetry);
    expect(probe.baseUrl).toBe(`https://${name}:${port}`);
    expect(probe.status).toBeUndefined();
    expect(probe.failure).toMatch(new RegExp(`^GET https://${name.replace(/[[\]]/g, "\\$&")}:${port}/v2/ failed: .*, then GET http://${name.replace(/[[\]]/g, "\\$&")}:${port}/v2/ failed: `));
  });

  it("never falls back when https was written, nor when https answered", async () => {
    const registry = await serve((_r, origin) => bearer(origin));
    const host = new URL(registry.url).host;
    const explicit = await probeRegistry(parseRegistry(`https://${host}`), fetch, noRetry);
    expect(explicit.baseUrl).toBe(`https://${host}`);
    expect(explicit.failure).toMatch(new RegExp(`^GET https://${host}/v2/ failed: `));
    expect(explicit.failure).not.toContain("http://");

    // An https registry on loopback: any HTTP answer over https settles it.
    const asked: string[] = [];
    const httpsAnswers: Fetch = async (input) => {
      asked.push(String(input));
      return new Response("{}", { status: 401, headers: { "WWW-Authenticate": 'Bearer realm="https://auth.example/token",service="s"' } });
    };
    const answered = await probeRegistry(parseRegistry("127.0.0.1:5000"), httpsAnswers, noRetry);
    expect(answered).toMatchObject({ baseUrl: "https://127.0.0.1:5000", challenge: { service: "s" } });
    expect(asked).toEqual(["https://127.0.0.1:5000/v2/"]);
  });

  it("says the https attempt failed when the http fallback answers without a challenge", async () => {
    const registry = await serve(() => ({ status: 404 }));
    const host = new URL(registry.url).host;
    const probe = await probeRegistry(parseRegistry(host), fetch, noRetry);
    expect(probe.failure).toMatch(new RegExp(`^GET http://${host}/v2/ answered 404 without a token challenge \\(after GET https://${host}/v2/ failed: `));
  });

  it("tells a Basic-auth registry apart", async () => {
    const registry = await serve(() => ({ status: 401, headers: { "WWW-Authenticate": 'Basic realm="registry"' } }));
    const probe = await probeRegistry(parseRegistry(registry.url), fetch, noRetry);
    expect(probe).toMatchObject({ basic: true, status: 401 });
  });
});

describe("proveLogin", () => {
  it("passes on 200 and sends the credential to /v2/", async () => {
    const registry = await serve(() => ({ status: 200, body: {} }));
    await proveLogin(registry.url, "Bearer tok", "a token", fetch, noRetry);
    expect(registry.requests[0]?.url.pathname).toBe("/v2/");
    expect(registry.requests[0]?.headers.authorization).toBe("Bearer tok");
  });

  it("fails naming the status, the registry's message and the challenge's error", async () => {
    const registry = await serve(() => ({
      status: 401,
      headers: { "WWW-Authenticate": 'Bearer realm="x",service="s",error="invalid_token",error_description="aud mismatch"' },
      body: { errors: [{ code: "UNAUTHORIZED", message: "authentication required", detail: null }] },
    }));
    const error = await proveLogin(registry.url, "Bearer tok", "a token from X", fetch, noRetry).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LoginRefusedError);
    expect((error as Error).message).toBe(
      `the registry refused the login: GET ${registry.url}/v2/ with a token from X answered HTTP 401: authentication required (error="invalid_token": aud mismatch)`,
    );
    const forbidden = await serve(() => ({ status: 403, body: "forbidden\n" }));
    await expect(proveLogin(forbidden.url, "Bearer tok", "t", fetch, noRetry)).rejects.toThrow(/answered HTTP 403: forbidden$/);
  });

  it("fails when the registry cannot be reached", async () => {
    const gone = await serve(() => ({ status: 200 }));
    await gone.close();
    await expect(proveLogin(gone.url, "Bearer tok", "t", fetch, noRetry)).rejects.toThrow(/^cannot check the login: GET http:\/\/127\.0\.0\.1:\d+\/v2\/ failed: .*ECONNREFUSED/);
  });
});
