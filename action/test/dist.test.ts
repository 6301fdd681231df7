/**
 * The committed bundle: identical to a fresh build, and runnable as the runner
 * runs it — `node dist/main.mjs` then `node dist/post.mjs`, from a directory
 * with no node_modules anywhere above it.
 */
import { execFile } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startOidcIssuer, type OidcIssuer } from "@jwt-registry-auth/testkit/oidc-issuer";
import { parse as parseYaml } from "yaml";
import { startActionsOidcEndpoint, type ActionsOidcEndpoint } from "@jwt-registry-auth/client/test/actions-oidc-endpoint";
import { startFakeRegistry, startFakeTokenServer, type FakeRegistry, type FakeTokenServer } from "@jwt-registry-auth/client/test/fake-registry";
import { DIST_DIR, runStep } from "./github-runner.ts";
import { HELPER_BIN, HELPER_CONFIG_VARIABLE } from "../src/helper.ts";

const ACTION_DIR = join(DIST_DIR, "..");

describe("dist/", () => {
  it("matches a fresh esbuild build (run `npm run build -w action` and commit dist/ if this fails)", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [join(ACTION_DIR, "build.mjs"), "--check"]);
    expect(stdout).toContain("dist/ matches a fresh build");
  });

  it("is what action.yml runs, with node24, main and post", () => {
    const action = parseYaml(readFileSync(join(ACTION_DIR, "action.yml"), "utf8")) as { runs: Record<string, string>; inputs: Record<string, unknown> };
    expect(action.runs).toEqual({ using: "node24", main: "dist/main.mjs", post: "dist/post.mjs" });
    expect(Object.keys(action.inputs)).toEqual(["registry", "provider", "username", "audience", "token-server", "service", "refresh", "logout", "credential-helper"]);
  });
});

describe("the bundle run as GitHub runs it", () => {
  let issuer: OidcIssuer;
  let oidc: ActionsOidcEndpoint;
  let bundle: string;
  const servers: (FakeRegistry | FakeTokenServer)[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  beforeAll(async () => {
    issuer = await startOidcIssuer();
    oidc = await startActionsOidcEndpoint(issuer);
    // Outside the repository: nothing to resolve imports from but the bundle itself.
    bundle = mkdtempSync(join(tmpdir(), "action-bundle-"));
    for (const file of ["main.mjs", "post.mjs", HELPER_BIN]) copyFileSync(join(DIST_DIR, file), join(bundle, file));
  });
  afterAll(async () => {
    await oidc.close();
    await issuer.close();
  });

  it("main logs in, sets outputs and masks; post removes exactly that entry", async () => {
    const dockerConfig = mkdtempSync(join(tmpdir(), "action-docker-"));
    const configPath = join(dockerConfig, "config.json");
    const foreign = { auths: { "ghcr.io": { auth: "eDp5" } }, credHelpers: { "gcr.io": "gcloud" } };
    writeFileSync(configPath, JSON.stringify(foreign));
    const env = { ...oidc.env, DOCKER_CONFIG: dockerConfig };
    const registry = await startFakeRegistry();
    servers.push(registry);

    const main = await runStep(join(bundle, "main.mjs"), { inputs: { registry: registry.url, username: "github", refresh: "false" }, env });
    expect(main.errors).toEqual([]);
    expect(main.exitCode).toBe(0);
    const jwt = oidc.issued.at(-1) as string;
    const auth = Buffer.from(`github:${jwt}`).toString("base64");
    expect(JSON.parse(readFileSync(configPath, "utf8"))).toEqual({ ...foreign, auths: { ...foreign.auths, [registry.host]: { auth } } });
    expect(statSync(configPath).mode & 0o777).toBe(0o600);
    expect(main.outputs["registry"]).toBe(registry.host);
    expect(main.outputs["expires-at"]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    expect(main.masks).toEqual(expect.arrayContaining([jwt, auth]));
    // Every secret is registered before it could appear, and never appears unmasked anyway.
    expect(main.stdout.replace(/^::add-mask::.*$/gm, "")).not.toContain(jwt);
    expect(main.stdout).toContain(`Logged in to ${registry.host} as github `);
    expect(main.stdout).toMatch(/ in \d+ ms$/m);
    // The password was used before it was written: a registry token got with it, accepted by /v2/.
    expect(registry.requests.map((r) => `${r.method} ${r.url.pathname} ${r.headers.authorization?.split(" ")[0] ?? "-"}`)).toEqual(["GET /v2/ -", "GET /token Basic", "GET /v2/ Bearer"]);

    const post = await runStep(join(bundle, "post.mjs"), { inputs: {}, env, state: main.state });
    expect(post.exitCode).toBe(0);
    expect(JSON.parse(readFileSync(configPath, "utf8"))).toEqual(foreign);
  });

  it("logs in to a loopback registry named without a scheme over the http fallback, through the token-server input, for the challenge's service", async () => {
    const dockerConfig = mkdtempSync(join(tmpdir(), "action-docker-"));
    const refreshToken = await issuer.mint({ sub: "github/refresh" }, { expiresIn: 3600 });
    const tokenServer = await startFakeTokenServer({ refreshToken });
    const registry = await startFakeRegistry({ service: "svc.example", tokenServer });
    servers.push(tokenServer, registry);
    const main = await runStep(join(bundle, "main.mjs"), {
      inputs: { registry: registry.host, provider: "github", "token-server": tokenServer.url },
      env: { ...oidc.env, DOCKER_CONFIG: dockerConfig },
    });
    expect(main.errors).toEqual([]);
    expect(main.exitCode).toBe(0);
    expect(main.stdout).toContain(`so using http://${registry.host} as docker does for insecure registries`);
    expect(JSON.parse(readFileSync(join(dockerConfig, "config.json"), "utf8"))).toEqual({
      auths: { [registry.host]: { auth: Buffer.from("github:").toString("base64"), identitytoken: refreshToken } },
    });
    expect(tokenServer.requests.map((r) => `${r.method} ${r.url.searchParams.get("service") ?? new URLSearchParams(r.body).get("service")}`)).toEqual(["GET svc.example", "POST svc.example"]);
    // The registry token of the proof is masked too (the offline GET's own token is never read).
    expect(main.masks).toEqual(expect.arrayContaining([refreshToken, [...tokenServer.issued.keys()].at(-1)]));
  });

  it("credential-helper: true installs the bundled helper on PATH for later steps, whose `get` answers with a minted refresh token; post uninstalls it", async () => {
    const dockerConfig = mkdtempSync(join(tmpdir(), "action-docker-"));
    const refreshToken = await issuer.mint({ sub: "github/refresh" }, { expiresIn: 3600 });
    const registry = await startFakeRegistry({ refreshToken, service: "svc.example" });
    servers.push(registry);
    const env = { ...oidc.env, DOCKER_CONFIG: dockerConfig };
    const main = await runStep(join(bundle, "main.mjs"), { inputs: { registry: registry.host, provider: "github", "credential-helper": "true" }, env });
    expect(main.errors).toEqual([]);
    expect(main.exitCode).toBe(0);
    expect(main.paths).toHaveLength(1);
    const binDir = main.paths[0] as string;
    const helperConfig = main.exported[HELPER_CONFIG_VARIABLE] as string;
    expect(statSync(join(binDir, HELPER_BIN)).mode & 0o777).toBe(0o755);
    expect(JSON.parse(readFileSync(join(dockerConfig, "config.json"), "utf8"))).toEqual({ credHelpers: { [registry.host]: "jwt-registry-auth" } });
    const issuedBefore = oidc.issued.length;

    // A later step, as docker runs the helper: by name from PATH (the runner prepends GITHUB_PATH), with GITHUB_ENV applied.
    const later = { ...oidc.env, HOME: mkdtempSync(join(tmpdir(), "action-later-")), [HELPER_CONFIG_VARIABLE]: helperConfig, PATH: `${binDir}:${dirname(process.execPath)}:/usr/bin:/bin` };
    const get = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(HELPER_BIN, ["get"], { env: later }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }));
      child.stdin?.end(registry.host);
    });
    expect(get.stderr).toBe("");
    expect(get.code).toBe(0);
    expect(JSON.parse(get.stdout)).toEqual({ ServerURL: registry.host, Username: "<token>", Secret: refreshToken });
    // It minted from a fresh OIDC token of its own, for the Action's audience, straight at the token server main resolved.
    expect(oidc.issued.length).toBe(issuedBefore + 1);
    expect(oidc.audiences.at(-1)).toBe(registry.host);

    const post = await runStep(join(bundle, "post.mjs"), { inputs: {}, env, state: main.state });
    expect(post.errors).toEqual([]);
    expect(post.exitCode).toBe(0);
    expect(JSON.parse(readFileSync(join(dockerConfig, "config.json"), "utf8"))).toEqual({});
    expect(existsSync(binDir)).toBe(false);
    expect(existsSync(helperConfig)).toBe(false);
  });

  it("fails with ::error:: and exit 1 when the registry refuses the credential, naming the cause and writing nothing", async () => {
    const dockerConfig = mkdtempSync(join(tmpdir(), "action-docker-"));
    const registry = await startFakeRegistry({ refuse: "token signed by an untrusted key" });
    servers.push(registry);
    const main = await runStep(join(bundle, "main.mjs"), { inputs: { registry: registry.host, provider: "github", refresh: "false" }, env: { ...oidc.env, DOCKER_CONFIG: dockerConfig } });
    expect(main.exitCode).toBe(1);
    expect(main.errors).toEqual([
      `the registry refused the login: GET http://${registry.host}/v2/ with a token from http://${registry.host} for service "test-registry" answered HTTP 401: token signed by an untrusted key (error="invalid_token")`,
    ]);
    expect(main.state).toEqual({});
    expect(main.outputs).toEqual({});
    expect(() => statSync(join(dockerConfig, "config.json"))).toThrow(/ENOENT/);
  });

  it("fails with ::error:: and exit 1 when the job lacks id-token: write, writing nothing", async () => {
    const dockerConfig = mkdtempSync(join(tmpdir(), "action-docker-"));
    const main = await runStep(join(bundle, "main.mjs"), { inputs: { registry: "127.0.0.1:5999", provider: "github" }, env: { DOCKER_CONFIG: dockerConfig } });
    expect(main.exitCode).toBe(1);
    expect(main.errors).toEqual([expect.stringContaining("give the job `permissions: id-token: write`")]);
    expect(main.stderr).toBe("");
    expect(main.state).toEqual({});
    expect(() => statSync(join(dockerConfig, "config.json"))).toThrow(/ENOENT/);
  });

  it("fails with ::error:: and exit 1 on a bad input", async () => {
    const main = await runStep(join(bundle, "main.mjs"), { inputs: { registry: "registry.example.com/acme/app", provider: "github" }, env: oidc.env });
    expect(main.exitCode).toBe(1);
    expect(main.errors).toEqual(['input registry: expected a host[:port], not a path ("registry.example.com/acme/app")']);
  });
});
