import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startOidcIssuer, type OidcIssuer } from "@jwt-registry-auth/testkit/oidc-issuer";
import { startActionsOidcEndpoint, type ActionsOidcEndpoint } from "@jwt-registry-auth/client/test/actions-oidc-endpoint";
import { startFakeRegistry, startFakeTokenServer, type FakeRegistry, type RegistryOptions } from "@jwt-registry-auth/client/test/fake-registry";
import { startTestServer, type Reply, type TestServer } from "@jwt-registry-auth/client/test/http-server";
import { recordingRunner, stateEnv } from "../test/recording-runner.ts";
import { entryFingerprint, identityTokenEntry, passwordEntry } from "@jwt-registry-auth/client/docker-config";
import { expiryOf } from "@jwt-registry-auth/client/jwt";
import { login } from "./login.ts";
import { logout } from "./logout.ts";

let issuer: OidcIssuer;
let oidc: ActionsOidcEndpoint;
let refreshToken: string;
beforeAll(async () => {
  issuer = await startOidcIssuer();
  oidc = await startActionsOidcEndpoint(issuer);
  // Shaped like the token server's refresh tokens: a JWT with its own, longer lifetime.
  refreshToken = await issuer.mint({ sub: "github/repo:acme/app:ref:refs/heads/main" }, { expiresIn: 3600 });
});
afterAll(async () => {
  await oidc.close();
  await issuer.close();
});

const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/**
 * A registry whose `/v2/` challenge points at a token endpoint on the same server, answering every token request with `tokenReply`;
 * `/v2/` with that reply's token `t` answers 200, as the login proof needs.
 */
async function registryWithTokenServer(tokenReply: (refreshToken: string) => Reply): Promise<TestServer> {
  const server = await startTestServer((request, origin) =>
    request.url.pathname !== "/v2/"
      ? tokenReply(refreshToken)
      : request.headers.authorization === "Bearer t"
        ? { status: 200, body: {} }
        : { status: 401, headers: { "WWW-Authenticate": `Bearer realm="${origin}/token",service="test-registry"` } },
  );
  servers.push(server);
  return server;
}
async function fakeRegistry(options: RegistryOptions = {}): Promise<FakeRegistry> {
  const registry = await startFakeRegistry({ refreshToken, ...options });
  servers.push(registry);
  return registry;
}
const requestLine = (r: { method: string; url: URL }) => `${r.method} ${r.url.pathname}`;
const grantsRefresh = (rt: string): Reply => ({ status: 200, body: { token: "t", access_token: "t", expires_in: 300, issued_at: new Date().toISOString(), refresh_token: rt } });
const grantsNoRefresh = (): Reply => ({ status: 200, body: { token: "t", access_token: "t", expires_in: 300, issued_at: new Date().toISOString() } });

function job(inputs: Record<string, string>) {
  const dockerConfig = mkdtempSync(join(tmpdir(), "login-test-"));
  const env: Record<string, string> = { ...oidc.env, DOCKER_CONFIG: dockerConfig };
  for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
  return { env, configPath: join(dockerConfig, "config.json") };
}
const readConfig = (path: string): unknown => JSON.parse(readFileSync(path, "utf8"));
const opts = { retry: { attempts: 1 } };

describe("login (main step)", () => {
  it("with refresh, stores the token server's refresh token as identitytoken and says until when", async () => {
    const registry = await registryWithTokenServer(grantsRefresh);
    const host = new URL(registry.url).host;
    const { env, configPath } = job({ registry: registry.url, provider: "github", refresh: "auto" });
    const { runner, recording } = recordingRunner();
    const outcome = await login(env, runner, opts);

    expect(outcome.credential).toBe("identitytoken");
    expect(readConfig(configPath)).toEqual({ auths: { [host]: identityTokenEntry("github", refreshToken) } });
    expect(oidc.audiences.at(-1)).toBe(host);
    const jwt = oidc.issued.at(-1) as string;
    // docker login's offline-token GET, then the proof: the refresh token traded as docker will, and `GET /v2/` with the result.
    expect(registry.requests.map(requestLine)).toEqual(["GET /v2/", "GET /token", "POST /token", "GET /v2/"]);
    expect(registry.requests[1]?.headers.authorization).toBe(`Basic ${Buffer.from(`github:${jwt}`).toString("base64")}`);
    expect(registry.requests[1]?.url.searchParams.get("offline_token")).toBe("true");
    expect(registry.requests[2]?.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect([...new URLSearchParams(registry.requests[2]?.body)]).toEqual([
      ["grant_type", "refresh_token"],
      ["refresh_token", refreshToken],
      ["service", "test-registry"],
      ["client_id", "jwt-registry-auth-action"],
    ]);
    expect(registry.requests[3]?.headers.authorization).toBe("Bearer t");
    expect(recording.outputs).toEqual({ registry: host, "expires-at": expiryOf(refreshToken)?.toISOString() });
    expect(recording.state).toEqual({ config: configPath, registry: host, fingerprint: entryFingerprint(identityTokenEntry("github", refreshToken)) });
    expect(recording.masks).toEqual(expect.arrayContaining([jwt, refreshToken]));
    for (const line of recording.printed) {
      expect(line).not.toContain(jwt);
      expect(line).not.toContain(refreshToken);
    }
    expect(recording.info.at(-1)).toMatch(new RegExp(`^Logged in to ${host} as github with a refresh token, expires \\d{4}-`));
  });

  it("with refresh false, stores the OIDC token as the password once the registry accepted a token got with it", async () => {
    const registry = await registryWithTokenServer(grantsRefresh);
    const { env, configPath } = job({ registry: registry.url, provider: "github", refresh: "false", audience: "https://registry.example.com" });
    const { runner, recording } = recordingRunner();
    await login(env, runner, opts);
    const jwt = oidc.issued.at(-1) as string;
    const entry = passwordEntry("github", jwt);
    expect(readConfig(configPath)).toEqual({ auths: { [new URL(registry.url).host]: entry } });
    // As docker uses a password: Basic on the realm for the challenge's service (no offline token), then `GET /v2/` with the token.
    expect(registry.requests.map(requestLine)).toEqual(["GET /v2/", "GET /token", "GET /v2/"]);
    expect([...(registry.requests[1]?.url.searchParams ?? [])]).toEqual([
      ["account", "github"],
      ["client_id", "jwt-registry-auth-action"],
      ["service", "test-registry"],
    ]);
    expect(registry.requests[1]?.headers.authorization).toBe(`Basic ${Buffer.from(`github:${jwt}`).toString("base64")}`);
    expect(registry.requests[2]?.headers.authorization).toBe("Bearer t");
    expect(oidc.audiences.at(-1)).toBe("https://registry.example.com");
    expect(recording.masks).toEqual(expect.arrayContaining([jwt, entry.auth]));
    expect(recording.outputs["expires-at"]).toBe(expiryOf(jwt)?.toISOString());
    expect(recording.info.at(-1)).toMatch(/with the OIDC token as password \(later steps fail after it expires/);
  });

  it("auto without a token server falls back to the password, with a warning", async () => {
    const registry = await startTestServer(() => ({ status: 200, body: {} }));
    servers.push(registry);
    const { env, configPath } = job({ registry: registry.url, provider: "github" });
    const { runner, recording } = recordingRunner();
    expect((await login(env, runner, opts)).credential).toBe("password");
    expect(recording.warnings).toEqual([expect.stringMatching(/^No refresh token \(no token server found: GET .*\/v2\/ answered 200 without a token challenge\)/)]);
    expect(readConfig(configPath)).toEqual({ auths: { [new URL(registry.url).host]: passwordEntry("github", oidc.issued.at(-1) as string) } });
  });

  it("auto falls back when the provider gives no refresh token; refresh true fails instead", async () => {
    const registry = await registryWithTokenServer(grantsNoRefresh);
    const auto = job({ registry: registry.url, provider: "github" });
    const { runner, recording } = recordingRunner();
    expect((await login(auto.env, runner, opts)).credential).toBe("password");
    expect(recording.warnings[0]).toMatch(/refresh tokens are off for provider "github"/);

    const required = job({ registry: registry.url, provider: "github", refresh: "true" });
    const second = recordingRunner();
    await expect(login(required.env, second.runner, opts)).rejects.toThrow(/^refresh is true but the token server gave none/);
    expect(() => readFileSync(required.configPath)).toThrow(/ENOENT/);
    expect(second.recording.state).toEqual({});
  });

  it("auto falls back to the password when the token server is unreachable, then fails: the registry would not take the password either", async () => {
    const gone = await startTestServer(() => ({ status: 200 }));
    await gone.close();
    const registry = await startTestServer(() => ({ status: 401, headers: { "WWW-Authenticate": `Bearer realm="${gone.url}/token",service="s"` } }));
    servers.push(registry);
    const { env, configPath } = job({ registry: registry.url, provider: "github" });
    const { runner, recording } = recordingRunner();
    await expect(login(env, runner, opts)).rejects.toThrow(/^cannot reach the token server to check the login: .*ECONNREFUSED/);
    expect(recording.warnings[0]).toMatch(/^No refresh token \(cannot reach the token server: .*ECONNREFUSED/);
    expect(() => readFileSync(configPath)).toThrow(/ENOENT/);
    expect(recording.state).toEqual({});
  });

  it("fails when the token server refuses the OIDC token, even in auto mode, and writes nothing", async () => {
    const registry = await registryWithTokenServer(() => ({ status: 401, body: { errors: [{ code: "UNAUTHORIZED", message: "authentication failed" }] } }));
    const { env, configPath } = job({ registry: registry.url, provider: "github" });
    await expect(login(env, recordingRunner().runner, opts)).rejects.toThrow(/refused the OIDC token for provider "github": HTTP 401: authentication failed/);
    expect(() => readFileSync(configPath)).toThrow(/ENOENT/);
  });

  it("fails naming `permissions: id-token: write` when the job has no OIDC token", async () => {
    const { env } = job({ registry: "127.0.0.1:5000", provider: "github" });
    delete env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"];
    await expect(login(env, recordingRunner().runner, opts)).rejects.toThrow("`permissions: id-token: write`");
  });

  it("keeps a malformed docker config untouched and fails clearly", async () => {
    const { env, configPath } = job({ registry: (await fakeRegistry()).url, provider: "github", refresh: "false" });
    writeFileSync(configPath, "{oops");
    await expect(login(env, recordingRunner().runner, opts)).rejects.toThrow(/is not valid JSON .*it was not modified/);
    expect(readFileSync(configPath, "utf8")).toBe("{oops");
  });

  it("warns when it replaces an existing login or when a credential helper shadows it", async () => {
    const { url, host } = await fakeRegistry();
    const { env, configPath } = job({ registry: url, provider: "github", refresh: "false" });
    writeFileSync(configPath, JSON.stringify({ auths: { [host]: { auth: "b2xkOm9sZA==" } }, credHelpers: { [host]: "pass" } }));
    const { runner, recording } = recordingRunner();
    await login(env, runner, opts);
    expect(recording.warnings).toEqual([
      `Replaced the existing login for ${host} in ${configPath}`,
      `${configPath} sets credHelpers["${host}"] = pass: docker asks that helper for ${host} and will not use this login`,
    ]);
  });
});

describe("login against a loopback registry named without a scheme (docker's insecure-registry fallback)", () => {
  it("tries https, falls back to plain http when TLS fails, and logs in with a refresh token for the challenge's service", async () => {
    const registry = await fakeRegistry({ service: "registry.internal.example" });
    // As in image names: `127.0.0.1:port`, no scheme. The https attempt reaches the plain-http port and fails the TLS handshake.
    const { env, configPath } = job({ registry: registry.host, provider: "github" });
    const { runner, recording } = recordingRunner();
    const outcome = await login(env, runner, opts);

    expect(outcome.credential).toBe("identitytoken");
    expect(readConfig(configPath)).toEqual({ auths: { [registry.host]: identityTokenEntry("github", refreshToken) } });
    expect(recording.warnings).toEqual([]);
    expect(recording.info).toContainEqual(
      `https://${registry.host}/v2/ did not answer (TLS/connection failure); ${registry.host} is on loopback, so using http://${registry.host} as docker does for insecure registries`,
    );
    // Everything after the probe went to the http base: the offline token, the refresh grant, and the proof.
    expect(registry.requests.map(requestLine)).toEqual(["GET /v2/", "GET /token", "POST /token", "GET /v2/"]);
    expect(registry.requests[1]?.url.searchParams.get("service")).toBe("registry.internal.example");
    expect(new URLSearchParams(registry.requests[2]?.body).get("service")).toBe("registry.internal.example");
    expect([...registry.tokenServer.issued.values()]).toEqual(["registry.internal.example", "registry.internal.example"]);
    expect(recording.info).toContainEqual(`http://${registry.host}/v2/ accepts a token from http://${registry.host} for service "registry.internal.example": the login works`);
  });

  it("with refresh false, proves the OIDC token as a password over the http fallback", async () => {
    const registry = await fakeRegistry({ service: "svc-not-the-host" });
    const { env, configPath } = job({ registry: registry.host, provider: "github", refresh: "false" });
    await login(env, recordingRunner().runner, opts);
    expect(readConfig(configPath)).toEqual({ auths: { [registry.host]: passwordEntry("github", oidc.issued.at(-1) as string) } });
    expect(registry.requests.map(requestLine)).toEqual(["GET /v2/", "GET /token", "GET /v2/"]);
    expect(registry.requests[1]?.url.searchParams.get("service")).toBe("svc-not-the-host");
    expect(registry.requests[1]?.url.searchParams.get("offline_token")).toBeNull();
  });

  it("with token-server, sends every token request there, for the challenge's service (not the registry host)", async () => {
    const tokenServer = await startFakeTokenServer({ refreshToken });
    servers.push(tokenServer);
    // The challenge's realm is a dead end: the token-server input replaces it, the service still comes from the challenge.
    const registry = await fakeRegistry({ service: "svc-from-challenge", tokenServer, realm: "http://127.0.0.1:9/nowhere" });
    const { env, configPath } = job({ registry: registry.host, provider: "github", "token-server": tokenServer.url });
    const { runner, recording } = recordingRunner();
    expect((await login(env, runner, opts)).credential).toBe("identitytoken");
    expect(readConfig(configPath)).toEqual({ auths: { [registry.host]: identityTokenEntry("github", refreshToken) } });
    expect(tokenServer.requests.map(requestLine)).toEqual(["GET /token", "POST /token"]);
    expect(tokenServer.requests[0]?.url.searchParams.get("service")).toBe("svc-from-challenge");
    expect(new URLSearchParams(tokenServer.requests[1]?.body).get("service")).toBe("svc-from-challenge");
    expect(registry.requests.map((r) => `${requestLine(r)} ${r.headers.authorization?.split(" ")[0] ?? "-"}`)).toEqual(["GET /v2/ -", "GET /v2/ Bearer"]);
    expect(recording.info).toContainEqual(`Token server: ${tokenServer.url}/token (service svc-from-challenge)`);
  });

  it("fails when the registry refuses the proven credential, naming the status and the registry's message, and writes nothing", async () => {
    const registry = await fakeRegistry({ refuse: "token signed by an untrusted key" });
    const { env, configPath } = job({ registry: registry.host, provider: "github" });
    const { runner, recording } = recordingRunner();
    await expect(login(env, runner, opts)).rejects.toThrow(
      `the registry refused the login: GET http://${registry.host}/v2/ with a token from http://${registry.host} for service "test-registry" answered HTTP 401: token signed by an untrusted key (error="invalid_token")`,
    );
    expect(() => readFileSync(configPath)).toThrow(/ENOENT/);
    expect(recording.state).toEqual({});
    expect(recording.outputs).toEqual({});
  });

  it("fails when the token server refuses the refresh token it just gave, writing nothing", async () => {
    const registry = await fakeRegistry();
    // Gives a refresh token on the offline GET, then refuses it on the POST: the stored credential would not work.
    const issuer = await startTestServer((request) =>
      request.method === "POST" ? { status: 401, body: { errors: [{ code: "UNAUTHORIZED", message: "refresh token revoked" }] } } : grantsRefresh(refreshToken),
    );
    servers.push(issuer);
    const { env, configPath } = job({ registry: registry.host, provider: "github", "token-server": `${issuer.url}/token` });
    await expect(login(env, recordingRunner().runner, opts)).rejects.toThrow(/refused the refresh token \(service "test-registry"\): HTTP 401: refresh token revoked/);
    expect(() => readFileSync(configPath)).toThrow(/ENOENT/);
  });

  it("says both URLs when neither https nor http answers", async () => {
    const gone = await startTestServer(() => ({ status: 200 }));
    await gone.close();
    const host = new URL(gone.url).host;
    const { env, configPath } = job({ registry: host, provider: "github" });
    const error = (await login(env, recordingRunner().runner, opts).catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(new RegExp(`^cannot log in to ${host}: GET https://${host}/v2/ failed: .*, then GET http://${host}/v2/ failed: .*ECONNREFUSED.*; check the registry input, or set the token-server and service inputs`));
    expect(() => readFileSync(configPath)).toThrow(/ENOENT/);
  });
});

describe("login when the registry's challenge cannot be read", () => {
  it("with token-server but no service input, fails naming the service input and the URL, and writes nothing", async () => {
    const tokenServer = await startFakeTokenServer({ refreshToken });
    servers.push(tokenServer);
    const registry = await fakeRegistry({ challenge: "none", tokenServer });
    const { env, configPath } = job({ registry: registry.url, provider: "github", "token-server": tokenServer.url });
    await expect(login(env, recordingRunner().runner, opts)).rejects.toThrow(
      `cannot tell which service to ask the token server for: GET ${registry.url}/v2/ answered 401 without a token challenge; set the service input to the service the registry's tokens are for (its auth.token.service)`,
    );
    expect(tokenServer.requests).toEqual([]);
    expect(() => readFileSync(configPath)).toThrow(/ENOENT/);
  });

  it("with token-server and service inputs, logs in for that service and proves it", async () => {
    const tokenServer = await startFakeTokenServer({ refreshToken });
    servers.push(tokenServer);
    const registry = await fakeRegistry({ challenge: "none", tokenServer, service: "explicit-service" });
    const { env, configPath } = job({ registry: registry.host, provider: "github", "token-server": tokenServer.url, service: "explicit-service" });
    expect((await login(env, recordingRunner().runner, opts)).credential).toBe("identitytoken");
    expect(readConfig(configPath)).toEqual({ auths: { [registry.host]: identityTokenEntry("github", refreshToken) } });
    expect(tokenServer.requests.map((r) => r.url.searchParams.get("service") ?? new URLSearchParams(r.body).get("service"))).toEqual(["explicit-service", "explicit-service"]);
    expect(registry.requests.at(-1)?.headers.authorization).toMatch(/^Bearer registry-token-/);
  });

  it("with refresh false and no token-server, fails naming the inputs that would fix it", async () => {
    const registry = await fakeRegistry({ challenge: "none" });
    const { env } = job({ registry: registry.url, provider: "github", refresh: "false" });
    await expect(login(env, recordingRunner().runner, opts)).rejects.toThrow(
      `cannot log in to ${registry.host}: GET ${registry.url}/v2/ answered 401 without a token challenge; check the registry input, or set the token-server and service inputs`,
    );
  });
});

describe("logout (post step)", () => {
  it("removes exactly the entry main added, keeping the rest", async () => {
    const { url, host } = await fakeRegistry();
    const { env, configPath } = job({ registry: url, provider: "github", refresh: "false" });
    const foreign = { auths: { "ghcr.io": { auth: "eDp5" } }, credHelpers: { "gcr.io": "gcloud" } };
    writeFileSync(configPath, JSON.stringify(foreign));
    const main = recordingRunner();
    await login(env, main.runner, opts);
    const post = recordingRunner();
    logout(stateEnv(main.recording.state), post.runner);
    expect(readConfig(configPath)).toEqual(foreign);
    expect(post.recording.info).toEqual([`Logged out of ${host}: removed its entry from ${configPath}`]);
  });

  it("leaves the login in place with logout: false", async () => {
    const { env, configPath } = job({ registry: (await fakeRegistry()).url, provider: "github", refresh: "false", logout: "false" });
    const main = recordingRunner();
    await login(env, main.runner, opts);
    expect(main.recording.state).toEqual({ logout: "false" });
    const before = readFileSync(configPath, "utf8");
    const post = recordingRunner();
    logout(stateEnv(main.recording.state), post.runner);
    expect(readFileSync(configPath, "utf8")).toBe(before);
    expect(post.recording.info).toEqual(["logout is false: leaving the registry login in place"]);
  });

  it("does nothing when main did not log in", () => {
    const post = recordingRunner();
    logout({}, post.runner);
    expect(post.recording.info).toEqual(["Nothing to log out: the main step did not log in"]);
  });

  it("leaves an entry replaced after login alone, with a warning", async () => {
    const { url, host } = await fakeRegistry();
    const { env, configPath } = job({ registry: url, provider: "github", refresh: "false" });
    const main = recordingRunner();
    await login(env, main.runner, opts);
    const later = { auths: { [host]: { auth: "bGF0ZXI6bG9naW4=" } } };
    writeFileSync(configPath, JSON.stringify(later));
    const post = recordingRunner();
    logout(stateEnv(main.recording.state), post.runner);
    expect(readConfig(configPath)).toEqual(later);
    expect(post.recording.warnings).toEqual([`Left the entry for ${host} in ${configPath} alone: it was replaced after this Action logged in`]);
  });
});
