import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startOidcIssuer, type OidcIssuer } from "@jwt-registry-auth/testkit/oidc-issuer";
import { startActionsOidcEndpoint, type ActionsOidcEndpoint } from "../test/actions-oidc-endpoint.ts";
import { startTestServer, type Reply, type TestServer } from "../test/http-server.ts";
import { recordingRunner, stateEnv } from "../test/recording-runner.ts";
import { entryFingerprint, identityTokenEntry, passwordEntry } from "./docker-config.ts";
import { expiryOf } from "./jwt.ts";
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

/** A registry whose `/v2/` challenge points at a token endpoint on the same server, answering `docker login` with `token`. */
async function registryWithTokenServer(tokenReply: (refreshToken: string) => Reply): Promise<TestServer> {
  const server = await startTestServer((request, origin) =>
    request.url.pathname === "/v2/"
      ? { status: 401, headers: { "WWW-Authenticate": `Bearer realm="${origin}/token",service="test-registry"` } }
      : tokenReply(refreshToken),
  );
  servers.push(server);
  return server;
}
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
    expect(registry.requests.at(-1)?.headers.authorization).toBe(`Basic ${Buffer.from(`github:${jwt}`).toString("base64")}`);
    expect(recording.outputs).toEqual({ registry: host, "expires-at": expiryOf(refreshToken)?.toISOString() });
    expect(recording.state).toEqual({ config: configPath, registry: host, fingerprint: entryFingerprint(identityTokenEntry("github", refreshToken)) });
    expect(recording.masks).toEqual(expect.arrayContaining([jwt, refreshToken]));
    for (const line of recording.printed) {
      expect(line).not.toContain(jwt);
      expect(line).not.toContain(refreshToken);
    }
    expect(recording.info.at(-1)).toMatch(new RegExp(`^Logged in to ${host} as github with a refresh token, expires \\d{4}-`));
  });

  it("with refresh false, stores the OIDC token as the password without asking the registry", async () => {
    const registry = await registryWithTokenServer(grantsRefresh);
    const { env, configPath } = job({ registry: registry.url, provider: "github", refresh: "false", audience: "https://registry.example.com" });
    const { runner, recording } = recordingRunner();
    await login(env, runner, opts);
    const jwt = oidc.issued.at(-1) as string;
    const entry = passwordEntry("github", jwt);
    expect(readConfig(configPath)).toEqual({ auths: { [new URL(registry.url).host]: entry } });
    expect(registry.requests).toEqual([]);
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

  it("auto falls back when the token server is unreachable", async () => {
    const gone = await startTestServer(() => ({ status: 200 }));
    await gone.close();
    const registry = await startTestServer(() => ({ status: 401, headers: { "WWW-Authenticate": `Bearer realm="${gone.url}/token",service="s"` } }));
    servers.push(registry);
    const { env } = job({ registry: registry.url, provider: "github" });
    const { runner, recording } = recordingRunner();
    expect((await login(env, runner, opts)).credential).toBe("password");
    expect(recording.warnings[0]).toMatch(/^No refresh token \(cannot reach the token server: .*ECONNREFUSED/);
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
    const { env, configPath } = job({ registry: "http://127.0.0.1:5000", provider: "github", refresh: "false" });
    writeFileSync(configPath, "{oops");
    await expect(login(env, recordingRunner().runner, opts)).rejects.toThrow(/is not valid JSON .*it was not modified/);
    expect(readFileSync(configPath, "utf8")).toBe("{oops");
  });

  it("warns when it replaces an existing login or when a credential helper shadows it", async () => {
    const { env, configPath } = job({ registry: "http://127.0.0.1:5000", provider: "github", refresh: "false" });
    writeFileSync(configPath, JSON.stringify({ auths: { "127.0.0.1:5000": { auth: "b2xkOm9sZA==" } }, credHelpers: { "127.0.0.1:5000": "pass" } }));
    const { runner, recording } = recordingRunner();
    await login(env, runner, opts);
    expect(recording.warnings).toEqual([
      `Replaced the existing login for 127.0.0.1:5000 in ${configPath}`,
      `${configPath} sets credHelpers["127.0.0.1:5000"] = pass: docker asks that helper for 127.0.0.1:5000 and will not use this login`,
    ]);
  });
});

describe("logout (post step)", () => {
  it("removes exactly the entry main added, keeping the rest", async () => {
    const { env, configPath } = job({ registry: "http://127.0.0.1:5000", provider: "github", refresh: "false" });
    const foreign = { auths: { "ghcr.io": { auth: "eDp5" } }, credHelpers: { "gcr.io": "gcloud" } };
    writeFileSync(configPath, JSON.stringify(foreign));
    const main = recordingRunner();
    await login(env, main.runner, opts);
    const post = recordingRunner();
    logout(stateEnv(main.recording.state), post.runner);
    expect(readConfig(configPath)).toEqual(foreign);
    expect(post.recording.info).toEqual([`Logged out of 127.0.0.1:5000: removed its entry from ${configPath}`]);
  });

  it("leaves the login in place with logout: false", async () => {
    const { env, configPath } = job({ registry: "http://127.0.0.1:5000", provider: "github", refresh: "false", logout: "false" });
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
    const { env, configPath } = job({ registry: "http://127.0.0.1:5000", provider: "github", refresh: "false" });
    const main = recordingRunner();
    await login(env, main.runner, opts);
    const later = { auths: { "127.0.0.1:5000": { auth: "bGF0ZXI6bG9naW4=" } } };
    writeFileSync(configPath, JSON.stringify(later));
    const post = recordingRunner();
    logout(stateEnv(main.recording.state), post.runner);
    expect(readConfig(configPath)).toEqual(later);
    expect(post.recording.warnings).toEqual([`Left the entry for 127.0.0.1:5000 in ${configPath} alone: it was replaced after this Action logged in`]);
  });
});
