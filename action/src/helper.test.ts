import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startOidcIssuer, type OidcIssuer } from "@jwt-registry-auth/testkit/oidc-issuer";
import { startActionsOidcEndpoint, type ActionsOidcEndpoint } from "@jwt-registry-auth/client/test/actions-oidc-endpoint";
import { startFakeRegistry, type FakeRegistry, type RegistryOptions } from "@jwt-registry-auth/client/test/fake-registry";
import type { RecordedRequest } from "@jwt-registry-auth/client/test/http-server";
import { recordingRunner, stateEnv } from "../test/recording-runner.ts";
import { HELPER_BIN, HELPER_CONFIG_VARIABLE, type HelperState } from "./helper.ts";
import { login } from "./login.ts";
import { logout } from "./logout.ts";

let issuer: OidcIssuer;
let oidc: ActionsOidcEndpoint;
let refreshToken: string;
/** Stands in for dist/docker-credential-jwt-registry-auth: only copied, never run here (test/dist.test.ts runs the real one). */
let bundle: string;
beforeAll(async () => {
  issuer = await startOidcIssuer();
  oidc = await startActionsOidcEndpoint(issuer);
  refreshToken = await issuer.mint({ sub: "github/repo:acme/app:ref:refs/heads/main" }, { expiresIn: 3600 });
  bundle = join(mkdtempSync(join(tmpdir(), "helper-bundle-")), HELPER_BIN);
  writeFileSync(bundle, "#!/usr/bin/env node\nconsole.log('helper');\n");
});
afterAll(async () => {
  await oidc.close();
  await issuer.close();
});

const servers: FakeRegistry[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
async function fakeRegistry(options: RegistryOptions = {}): Promise<FakeRegistry> {
  const registry = await startFakeRegistry({ refreshToken, ...options });
  servers.push(registry);
  return registry;
}

function job(inputs: Record<string, string>, extraEnv: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "helper-login-test-"));
  const env: Record<string, string> = { ...oidc.env, DOCKER_CONFIG: join(dir, "docker"), REGISTRY_AUTH_FILE: join(dir, "containers", "auth.json"), RUNNER_TEMP: join(dir), ...extraEnv };
  for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
  return { env, dockerConfig: join(dir, "docker", "config.json"), authFile: join(dir, "containers", "auth.json") };
}
const readJson = (path: string): unknown => JSON.parse(readFileSync(path, "utf8"));
const opts = () => ({ retry: { attempts: 1 }, helperBundle: bundle });
const requestLine = (r: RecordedRequest) => `${r.method} ${r.url.pathname} ${r.headers.authorization?.split(" ")[0] ?? "-"}`;

describe("credential-helper: true", () => {
  it("proves the login, then installs the helper for later steps instead of writing an identitytoken; post undoes exactly that", async () => {
    const registry = await fakeRegistry({ service: "svc.example" });
    const { env, dockerConfig, authFile } = job({ registry: registry.url, provider: "github", audience: "aud.example", "credential-helper": "true" });
    const foreign = { auths: { "ghcr.io": { auth: "eDp5" } }, credHelpers: { "gcr.io": "gcloud" } };
    mkdirSync(env["DOCKER_CONFIG"] as string, { recursive: true });
    writeFileSync(dockerConfig, JSON.stringify(foreign));
    const { runner, recording } = recordingRunner();
    const outcome = await login(env, runner, opts());
    expect(outcome.credential).toBe("credential-helper");

    // The same proof as without the helper: offline token, refresh token traded as docker will, `/v2/` with the result.
    expect(registry.requests.map(requestLine)).toEqual(["GET /v2/ -", "GET /token Basic", "POST /token -", "GET /v2/ Bearer"]);
    expect(oidc.audiences.at(-1)).toBe("aud.example");

    // Later steps: the bin directory on PATH, helper.json through the environment.
    expect(recording.paths).toHaveLength(1);
    const binDir = recording.paths[0] as string;
    const installed = join(binDir, HELPER_BIN);
    expect(readFileSync(installed, "utf8")).toBe(readFileSync(bundle, "utf8"));
    expect(statSync(installed).mode & 0o777).toBe(0o755);
    const helperConfig = recording.exported[HELPER_CONFIG_VARIABLE] as string;
    expect(Object.keys(recording.exported)).toEqual([HELPER_CONFIG_VARIABLE]);
    const dir = join(binDir, "..");
    expect(dir.startsWith(env["RUNNER_TEMP"] as string)).toBe(true);
    expect(readJson(helperConfig)).toEqual({
      registries: { [registry.host]: { provider: "github", token: { github: { audience: "aud.example" } }, tokenServer: registry.tokenServer.tokenUrl, service: "svc.example" } },
      cacheDir: join(dir, "cache"),
    });
    expect(statSync(helperConfig).mode & 0o777).toBe(0o600);

    // credHelpers in both files, every other entry kept, and no static credential anywhere.
    expect(readJson(dockerConfig)).toEqual({ ...foreign, credHelpers: { ...foreign.credHelpers, [registry.host]: "jwt-registry-auth" } });
    expect(readJson(authFile)).toEqual({ credHelpers: { [registry.host]: "jwt-registry-auth" } });
    expect(readFileSync(dockerConfig, "utf8")).not.toContain(refreshToken);
    expect(readFileSync(helperConfig, "utf8")).not.toContain(refreshToken);
    expect(recording.outputs).toEqual({ registry: registry.host, "expires-at": "" });
    expect(recording.info.at(-1)).toMatch(new RegExp(`^Logged in to ${registry.host} as github through the credential helper`));
    const state = JSON.parse(recording.state["helper"] as string) as HelperState;
    expect(state).toEqual({ host: registry.host, dir, configPath: helperConfig, files: [{ path: dockerConfig }, { path: authFile }] });

    const post = recordingRunner();
    logout({ ...stateEnv(recording.state) }, post.runner);
    expect(post.recording.warnings).toEqual([]);
    expect(readJson(dockerConfig)).toEqual(foreign);
    expect(readJson(authFile)).toEqual({});
    expect(existsSync(dir)).toBe(false);
  });

  it("writes nothing when the registry refuses the credential", async () => {
    const registry = await fakeRegistry({ refuse: "token signed by an untrusted key" });
    const { env, dockerConfig, authFile } = job({ registry: registry.url, provider: "github", "credential-helper": "true" });
    const { runner, recording } = recordingRunner();
    await expect(login(env, runner, opts())).rejects.toThrow(/HTTP 401: token signed by an untrusted key/);
    expect(recording.paths).toEqual([]);
    expect(recording.exported).toEqual({});
    expect(recording.state).toEqual({});
    expect(existsSync(dockerConfig)).toBe(false);
    expect(existsSync(authFile)).toBe(false);
  });

  it("needs refresh tokens: refresh false is an input error, a provider without them fails the step", async () => {
    const registry = await fakeRegistry({ refreshToken: undefined });
    const off = job({ registry: registry.url, provider: "github", "credential-helper": "true", refresh: "false" });
    await expect(login(off.env, recordingRunner().runner, opts())).rejects.toThrow(/inputs credential-helper: true and refresh: false contradict/);
    const none = job({ registry: registry.url, provider: "github", "credential-helper": "true" });
    const { runner, recording } = recordingRunner();
    await expect(login(none.env, runner, opts())).rejects.toThrow(/refresh is true but the token server gave none/);
    expect(recording.paths).toEqual([]);
    expect(existsSync(none.dockerConfig)).toBe(false);
  });

  it("a second registry joins the first one's helper.json; posts (in reverse) undo each, restoring a helper it replaced", async () => {
    const first = await fakeRegistry();
    const second = await fakeRegistry();
    const a = job({ registry: first.url, provider: "github", "credential-helper": "true" });
    const { runner, recording } = recordingRunner();
    await login(a.env, runner, opts());
    const helperConfig = recording.exported[HELPER_CONFIG_VARIABLE] as string;
    // The second step sees the first one's GITHUB_ENV; its registry had another helper.
    writeFileSync(a.dockerConfig, JSON.stringify({ ...(readJson(a.dockerConfig) as object), credHelpers: { [first.host]: "jwt-registry-auth", [second.host]: "ecr-login" } }));
    const b = { ...a.env, [HELPER_CONFIG_VARIABLE]: helperConfig, INPUT_REGISTRY: second.url };
    const two = recordingRunner();
    await login(b, two.runner, opts());
    expect(two.recording.paths).toEqual([]);
    expect(two.recording.warnings).toEqual([`Replaced credHelpers["${second.host}"] = ecr-login in ${a.dockerConfig}; the post step puts it back`]);
    expect(Object.keys((readJson(helperConfig) as { registries: object }).registries)).toEqual([first.host, second.host]);

    logout(stateEnv(two.recording.state), recordingRunner().runner);
    expect(readJson(a.dockerConfig)).toEqual({ credHelpers: { [first.host]: "jwt-registry-auth", [second.host]: "ecr-login" } });
    expect(Object.keys((readJson(helperConfig) as { registries: object }).registries)).toEqual([first.host]);
    // Someone pointed the first registry elsewhere in the auth file meanwhile: left alone, with a warning.
    writeFileSync(a.authFile, JSON.stringify({ credHelpers: { [first.host]: "other" } }));
    const post = recordingRunner();
    logout(stateEnv(recording.state), post.runner);
    expect(post.recording.warnings).toEqual([`Left credHelpers["${first.host}"] in ${a.authFile} alone: it names another helper since this Action set it`]);
    expect(readJson(a.dockerConfig)).toEqual({ credHelpers: { [second.host]: "ecr-login" } });
    expect(existsSync(helperConfig)).toBe(false);
  });

  it("logout false leaves the helper installed", async () => {
    const registry = await fakeRegistry();
    const { env, dockerConfig } = job({ registry: registry.url, provider: "github", "credential-helper": "true", logout: "false" });
    const { runner, recording } = recordingRunner();
    await login(env, runner, opts());
    expect(recording.state).toEqual({ logout: "false" });
    logout(stateEnv(recording.state), recordingRunner().runner);
    expect(readJson(dockerConfig)).toEqual({ credHelpers: { [registry.host]: "jwt-registry-auth" } });
    expect(existsSync(recording.exported[HELPER_CONFIG_VARIABLE] as string)).toBe(true);
  });
});
