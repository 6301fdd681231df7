import { describe, expect, it } from "vitest";
import { serverPerTest, type Reply, type TestServer } from "../test/http-server.ts";
import { parseRegistryAddress as parseRegistry } from "./registry-address.ts";
import { discoverTokenEndpoint, fetchRefreshToken, fetchRegistryToken, TokenServerError } from "./token-server.ts";

const CLIENT_ID = "jwt-registry-auth-action";
const serve = serverPerTest();
const noRetry = { attempts: 1 };

/** What Distribution 2.8.2 answers on `GET /v2/` without credentials. */
const challenge = (realm: string, service = "regtest-registry"): Reply => ({
  status: 401,
  headers: { "WWW-Authenticate": `Bearer realm="${realm}",service="${service}"`, "Docker-Distribution-Api-Version": "registry/2.0" },
  body: { errors: [{ code: "UNAUTHORIZED", message: "authentication required", detail: null }] },
});

describe("discoverTokenEndpoint", () => {
  it("reads realm and service from the registry's challenge", async () => {
    const registry = await serve((_r, origin) => challenge(`${origin}/token`));
    const discovery = await discoverTokenEndpoint(parseRegistry(registry.url), {}, fetch, noRetry);
    expect(discovery).toMatchObject({ found: true, endpoint: { realm: new URL(`${registry.url}/token`), service: "regtest-registry" } });
    expect(discovery.probe.baseUrl).toBe(registry.url);
    expect(registry.requests.map((r) => `${r.method} ${r.url.pathname}`)).toEqual(["GET /v2/"]);
    expect(registry.requests[0]?.headers.authorization).toBeUndefined();
  });

  it("lets the token-server input replace the realm, keeping the challenge's service", async () => {
    const registry = await serve(() => challenge("http://127.0.0.1:9/elsewhere"));
    const override = new URL("http://127.0.0.1:7/token");
    const discovery = await discoverTokenEndpoint(parseRegistry(registry.url), { tokenServer: override }, fetch, noRetry);
    expect(discovery).toMatchObject({ found: true, endpoint: { realm: override, service: "regtest-registry" } });
    expect(discovery.found && discovery.challengeService).toBeUndefined();
  });

  it("lets the service input replace the challenge's service, and says which one it replaced", async () => {
    const registry = await serve((_r, origin) => challenge(`${origin}/token`, "from-challenge"));
    const discovery = await discoverTokenEndpoint(parseRegistry(registry.url), { service: "from-input" }, fetch, noRetry);
    expect(discovery).toMatchObject({ found: true, endpoint: { service: "from-input" }, challengeService: "from-challenge" });
  });

  // The registry host was the old guess; a token for the wrong service only fails later, at the registry, less clearly.
  it("with a token-server input and no reachable registry, never guesses the service: fails naming the service input and the URL", async () => {
    const gone = await serve(() => ({ status: 200 }));
    await gone.close();
    const override = new URL("http://127.0.0.1:7/token");
    const registry = parseRegistry(gone.url);
    const error = (await discoverTokenEndpoint(registry, { tokenServer: override }, fetch, noRetry).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(TokenServerError);
    expect(error.message).toMatch(new RegExp(`^cannot tell which service to ask the token server for: GET ${gone.url}/v2/ failed: .*ECONNREFUSED.*; set the service input to`));
  });

  it("with token-server and service inputs and no reachable registry, uses them", async () => {
    const gone = await serve(() => ({ status: 200 }));
    await gone.close();
    const override = new URL("http://127.0.0.1:7/token");
    const discovery = await discoverTokenEndpoint(parseRegistry(gone.url), { tokenServer: override, service: "svc" }, fetch, noRetry);
    expect(discovery).toMatchObject({ found: true, endpoint: { realm: override, service: "svc" } });
  });

  it("fails naming the service input when the challenge has a realm but no service", async () => {
    const registry = await serve((_r, origin) => ({ status: 401, headers: { "WWW-Authenticate": `Bearer realm="${origin}/token"` } }));
    await expect(discoverTokenEndpoint(parseRegistry(registry.url), {}, fetch, noRetry)).rejects.toThrow(
      `cannot tell which service to ask the token server for: the challenge of GET ${registry.url}/v2/ names no service; set the service input`,
    );
  });

  it.each([
    [{ status: 200, body: {} }, /answered 200 without a token challenge/],
    [{ status: 401, headers: { "WWW-Authenticate": 'Basic realm="registry"' } }, /does not use token auth \(WWW-Authenticate: Basic realm="registry"\)/],
    [{ status: 401 }, /answered 401 without a token challenge/],
  ])("finds no token server when the registry answers %j", async (reply, reason) => {
    const registry = await serve(() => reply);
    const discovery = await discoverTokenEndpoint(parseRegistry(registry.url), {}, fetch, noRetry);
    expect(discovery.found).toBe(false);
    expect(discovery.found === false && discovery.reason).toMatch(reason);
  });

  it("finds no token server when the registry is unreachable, and says why", async () => {
    const gone = await serve(() => ({ status: 200 }));
    await gone.close();
    const discovery = await discoverTokenEndpoint(parseRegistry(gone.url), {}, fetch, noRetry);
    expect(discovery.found === false && discovery.reason).toMatch(/GET http:\/\/127\.0\.0\.1:\d+\/v2\/ failed: .*ECONNREFUSED/);
  });

  // An https registry on a closed loopback port: tests never leave loopback.
  const httpsRegistry = async () => {
    const gone = await serve(() => ({ status: 200 }));
    await gone.close();
    return parseRegistry(gone.url.replace("http://", "https://"));
  };

  it("refuses to send the JWT to a plain-http realm named by an https registry", async () => {
    await expect(discoverTokenEndpoint(await httpsRegistry(), { tokenServer: new URL("http://auth.example.com/token"), service: "s" }, fetch, noRetry)).rejects.toThrow(
      "refusing to send the OIDC token to http://auth.example.com: the token server must use https",
    );
  });

  it("allows a plain-http realm on loopback", async () => {
    const discovery = await discoverTokenEndpoint(await httpsRegistry(), { tokenServer: new URL("http://127.0.0.1:7/token"), service: "s" }, fetch, noRetry);
    expect(discovery.found).toBe(true);
  });
});

describe("fetchRefreshToken", () => {
  const endpointOf = (server: TestServer) => ({ realm: new URL(`${server.url}/token`), service: "regtest-registry" });

  it("sends what `docker login` sends (offline token, Basic provider:jwt) and returns the refresh token", async () => {
    const server = await serve(() => ({
      status: 200,
      body: { token: "t", access_token: "t", expires_in: 300, issued_at: "2026-11-29T11:45:46Z", refresh_token: "rt-123" },
    }));
    expect(await fetchRefreshToken(endpointOf(server), "github", "a.b.c", CLIENT_ID, fetch, noRetry)).toEqual({ refreshToken: "rt-123" });
    const request = server.requests[0];
    expect(request?.method).toBe("GET");
    expect([...(request?.url.searchParams ?? [])]).toEqual([
      ["account", "github"],
      ["client_id", CLIENT_ID],
      ["offline_token", "true"],
      ["service", "regtest-registry"],
    ]);
    expect(request?.headers.authorization).toBe(`Basic ${Buffer.from("github:a.b.c").toString("base64")}`);
  });

  it("keeps query parameters the realm already carries", async () => {
    const server = await serve(() => ({ status: 200, body: { token: "t" } }));
    await fetchRefreshToken({ realm: new URL(`${server.url}/token?tenant=x`), service: "s" }, "p", "a.b.c", CLIENT_ID, fetch, noRetry);
    expect(server.requests[0]?.url.searchParams.get("tenant")).toBe("x");
  });

  it("returns no refresh token when the provider has them off", async () => {
    const server = await serve(() => ({ status: 200, body: { token: "t", access_token: "t", expires_in: 300, issued_at: "2026-11-29T11:45:46Z" } }));
    expect(await fetchRefreshToken(endpointOf(server), "p", "a.b.c", CLIENT_ID, fetch, noRetry)).toEqual({});
  });

  it("reports a refusal with the server's message, never the token", async () => {
    const server = await serve(() => ({ status: 401, body: { errors: [{ code: "UNAUTHORIZED", message: "token audience not accepted" }] } }));
    const error = await fetchRefreshToken(endpointOf(server), "github", "secret.jwt.value", CLIENT_ID, fetch, noRetry).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenServerError);
    expect((error as TokenServerError).refused).toBe(true);
    expect((error as Error).message).toBe(`the token server at ${server.url} refused the OIDC token for provider "github": HTTP 401: token audience not accepted`);
    expect((error as Error).message).not.toContain("secret.jwt.value");
  });

  it.each([
    [{ status: 500, body: "boom" }, /failed: HTTP 500: boom/],
    [{ status: 200, body: "not json" }, /not JSON/],
    [{ status: 200, body: { refresh_token: 42 } }, /not a token string/],
    [{ status: 200, body: { refresh_token: "two words" } }, /not a token string/],
  ])("fails (not refused) on %j", async (reply, message) => {
    const server = await serve(() => reply);
    const error = await fetchRefreshToken(endpointOf(server), "p", "a.b.c", CLIENT_ID, fetch, noRetry).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenServerError);
    expect((error as TokenServerError).refused).toBe(false);
    expect((error as Error).message).toMatch(message);
  });
});

describe("fetchRegistryToken (the login proof's token, got as docker will)", () => {
  const endpointOf = (server: TestServer) => ({ realm: new URL(`${server.url}/token?tenant=x`), service: "svc" });
  const tokenReply: Reply = { status: 200, body: { token: "reg-token", access_token: "reg-token", expires_in: 300, issued_at: "2026-11-29T11:45:46Z" } };

  it("POSTs a refresh token as grant_type=refresh_token with service and client_id, no scope", async () => {
    const server = await serve(() => tokenReply);
    expect(await fetchRegistryToken(endpointOf(server), { kind: "refresh-token", refreshToken: "rt-1" }, CLIENT_ID, fetch, noRetry)).toBe("reg-token");
    const request = server.requests[0];
    expect(request?.method).toBe("POST");
    expect(request?.url.search).toBe("?tenant=x");
    expect(request?.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(request?.headers.authorization).toBeUndefined();
    expect([...new URLSearchParams(request?.body)]).toEqual([
      ["grant_type", "refresh_token"],
      ["refresh_token", "rt-1"],
      ["service", "svc"],
      ["client_id", CLIENT_ID],
    ]);
  });

  it("GETs with Basic provider:jwt for a password, without offline_token", async () => {
    const server = await serve(() => tokenReply);
    expect(await fetchRegistryToken(endpointOf(server), { kind: "password", provider: "gh", jwt: "a.b.c" }, CLIENT_ID, fetch, noRetry)).toBe("reg-token");
    const request = server.requests[0];
    expect(request?.method).toBe("GET");
    expect([...(request?.url.searchParams ?? [])]).toEqual([
      ["tenant", "x"],
      ["account", "gh"],
      ["client_id", CLIENT_ID],
      ["service", "svc"],
    ]);
    expect(request?.headers.authorization).toBe(`Basic ${Buffer.from("gh:a.b.c").toString("base64")}`);
  });

  it("reports a refusal with the server's message, and an answer without a token", async () => {
    const refusing = await serve(() => ({ status: 401, body: { errors: [{ code: "UNAUTHORIZED", message: "refresh token expired" }] } }));
    const error = (await fetchRegistryToken(endpointOf(refusing), { kind: "refresh-token", refreshToken: "rt-1" }, CLIENT_ID, fetch, noRetry).catch((e: unknown) => e)) as TokenServerError;
    expect(error.refused).toBe(true);
    expect(error.message).toBe(`the token server at ${refusing.url} refused the refresh token (service "svc"): HTTP 401: refresh token expired`);
    const empty = await serve(() => ({ status: 200, body: { expires_in: 300 } }));
    await expect(fetchRegistryToken(endpointOf(empty), { kind: "password", provider: "gh", jwt: "a.b.c" }, CLIENT_ID, fetch, noRetry)).rejects.toThrow("answered without a registry token");
  });
});
