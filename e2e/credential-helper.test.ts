/**
 * The credential helper driven by a real client: skopeo, with `credHelpers` in
 * its auth file naming `jwt-registry-auth`, against the real Distribution 2.8.2
 * registry with token auth pointing at the token-server Worker under `wrangler
 * dev`. The bundled bin is on skopeo's PATH as `docker-credential-jwt-registry-auth`,
 * exactly as a user installs it. Once per token source (GitHub-shaped request
 * endpoint, file, env, command); a pull after the workload token expired; the
 * token server is asked only when the cache has no fresh refresh token; and the
 * docker CLI (`docker manifest inspect`) through credHelpers in its config.json.
 * Then once per token source again through the proxy Worker (under `wrangler
 * dev`, in front of a Distribution registry without auth of its own).
 */
import { execFileSync } from "node:child_process";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startActionsOidcEndpoint, type ActionsOidcEndpoint, type EndpointOptions } from "@jwt-registry-auth/action/test/actions-oidc-endpoint";
import {
  buildOciImage,
  createTimings,
  freePort,
  makeTempDir,
  removeDir,
  requestToken,
  runCommand,
  startOidcIssuer,
  startRegistry,
  startTokenServer,
  type CommandResult,
  type OciImage,
  type OidcIssuer,
  type Registry,
  type TokenRequestLogLine,
  type TokenServer,
} from "@jwt-registry-auth/testkit";
import { startProxy, type Proxy } from "./proxy-harness.ts";

const OWNER_ID = "1234567";
const LEEWAY_SECONDS = 60;
const HELPER_CLIENT_ID = "docker-credential-jwt-registry-auth";
const BUILD = fileURLToPath(new URL("../credential-helper/build.mjs", import.meta.url));
/** The service (and token audience) of the proxy leg. */
const PROXY_SERVICE = "e2e-helper-via-proxy";

function providersYaml(issuer: OidcIssuer, registryHost: string): string {
  return `providers:
  - name: ci
    issuer: ${JSON.stringify(issuer.url)}
    audiences:
      - ${JSON.stringify(registryHost)}
      - ${JSON.stringify(PROXY_SERVICE)}
    authn:
      condition: |
        claims.repository_owner_id == "${OWNER_ID}"
    authz:
      condition: |
        scope.type == "repository" && scope.name.startsWith("acme/") &&
        (scope.action == "pull" || scope.action == "push")
    refresh:
      lifetime: 1h
`;
}

const timings = createTimings();
const cleanups: (() => void | Promise<void>)[] = [];
let issuer: OidcIssuer;
let tokenServer: TokenServer;
let registry: Registry;
/** The proxy leg: a registry without auth behind the proxy Worker. */
let upstream: Registry;
let proxy: Proxy;
let image: OciImage;
/** A directory holding only `docker-credential-jwt-registry-auth`, the bundle. */
let binDir: string;

beforeAll(async () => {
  issuer = await startOidcIssuer({ alg: "RS256", path: "/github" });
  cleanups.push(() => issuer.close());
  image = await buildOciImage();
  cleanups.push(() => image.cleanup());
  binDir = makeTempDir("helper-e2e-bin");
  cleanups.push(() => removeDir(binDir));
  const bin = join(binDir, "docker-credential-jwt-registry-auth");
  execFileSync(process.execPath, [BUILD, bin]);
  chmodSync(bin, 0o755);
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  tokenServer = await timings.measure("start token server", () => startTokenServer({ providersYaml: providersYaml(issuer, host) }));
  cleanups.push(() => tokenServer.stop());
  registry = await timings.measure("start docker-registry", () =>
    startRegistry({ port, auth: { kind: "token", realm: tokenServer.realm, service: host, issuer: tokenServer.tokenIssuer, rootCertBundlePath: tokenServer.certPath } }),
  );
  cleanups.push(() => registry.stop());
  upstream = await timings.measure("start docker-registry (no auth, behind the proxy)", () => startRegistry({ auth: { kind: "none" } }));
  cleanups.push(() => upstream.stop());
  proxy = await timings.measure("start proxy (wrangler dev)", () => startProxy({ upstream, tokenServer, service: PROXY_SERVICE }));
  cleanups.push(() => proxy.stop());
  const seed = await runCommand("skopeo", ["--insecure-policy", "copy", "--dest-tls-verify=false", image.reference, `docker://${upstream.host}/acme/app:v1`], { timeoutMs: 120_000 });
  expect(seed.code, seed.stderr).toBe(0);
  // Warm the token server (issuer discovery, policy from D1) so short-lived tokens are not spent on a cold start.
  const warm = await requestToken(tokenServer.realm, { service: host, credential: { username: "ci", password: await githubJwt() } });
  expect(warm.status).toBe(200);
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  console.log(timings.format("credential helper e2e"));
});

const githubJwt = (mint?: Parameters<OidcIssuer["github"]>[1], audience = registry.host): Promise<string> => issuer.github({ owner: "acme", ownerId: OWNER_ID, audience }, mint);

async function actionsOidc(options: EndpointOptions = {}): Promise<ActionsOidcEndpoint> {
  const endpoint = await startActionsOidcEndpoint(issuer, { ...options, github: { owner: "acme", ownerId: OWNER_ID } });
  cleanups.push(() => endpoint.close());
  return endpoint;
}

interface Job {
  readonly env: Record<string, string>;
  readonly authFile: string;
}

/** A job's home: helper.json for the registry with this token source, and auth.json set up by `configure`. */
async function job(token: unknown, extraEnv: Record<string, string> = {}, host = registry.host): Promise<Job> {
  const home = makeTempDir("helper-e2e-home");
  cleanups.push(() => removeDir(home));
  const config = join(home, "helper.json");
  writeFileSync(config, JSON.stringify({ registries: { [host]: { provider: "ci", token } } }));
  const authFile = join(home, "auth.json");
  const env = {
    PATH: `${binDir}:${dirname(process.execPath)}:${process.env["PATH"] ?? "/usr/bin:/bin"}`,
    HOME: home,
    XDG_RUNTIME_DIR: home,
    XDG_CACHE_HOME: join(home, "cache"),
    DOCKER_CONFIG: join(home, "docker"),
    REGISTRY_AUTH_FILE: authFile,
    JWT_REGISTRY_AUTH_HELPER_CONFIG: config,
    ...extraEnv,
  };
  const configured = await runCommand("docker-credential-jwt-registry-auth", ["configure", host], { env });
  expect(configured.code, configured.stderr).toBe(0);
  expect(JSON.parse(readFileSync(authFile, "utf8"))).toEqual({ credHelpers: { [host]: "jwt-registry-auth" } });
  return { env, authFile };
}

/** skopeo as a job runs it: the job's env (the helper finds its config there), the auth file with credHelpers. */
function skopeo(j: Job, subcommand: "copy" | "inspect", args: string[]): Promise<CommandResult> {
  const tls = subcommand === "copy" ? ["--src-tls-verify=false", "--dest-tls-verify=false"] : ["--tls-verify=false"];
  return runCommand("skopeo", ["--insecure-policy", subcommand, ...tls, "--authfile", j.authFile, ...args], { env: j.env, timeoutMs: 120_000 });
}

const ref = (repository: string): string => `docker://${registry.host}/${repository}`;
/** The helper's offline-token requests (mints) the token server has logged. */
const mints = (lines: readonly TokenRequestLogLine[]): TokenRequestLogLine[] => lines.filter((l) => l.clientId === HELPER_CLIENT_ID && l.grant === "password");

async function mintsAfter(before: number, expected: number): Promise<TokenRequestLogLine[]> {
  const lines = await tokenServer.tokenRequestsWhen((all) => mints(all).length >= before + expected, 5_000);
  return mints(lines).slice(before);
}

describe("skopeo with credHelpers → docker-credential-jwt-registry-auth", () => {
  it("env source: pushes an image, then pulls it from the cache without another mint", async () => {
    const before = mints(tokenServer.tokenRequests()).length;
    const j = await job({ env: "CI_ID_TOKEN" }, { CI_ID_TOKEN: await githubJwt() });
    const push = await timings.measure("skopeo push through the helper (mint)", () => skopeo(j, "copy", [image.reference, ref("acme/app:v1")]));
    expect(push.code, push.stderr).toBe(0);
    expect(registry.storedRepositories()).toContain("acme/app");
    const inspect = await timings.measure("skopeo inspect through the helper (cached)", () => skopeo(j, "inspect", [ref("acme/app:v1")]));
    expect(inspect.code, inspect.stderr).toBe(0);
    const minted = await mintsAfter(before, 1);
    expect(minted).toHaveLength(1);
    expect(minted[0]).toMatchObject({ status: 200, provider: "ci", refreshIssued: true, service: registry.host });
    // Pulls used the refresh token: the token server saw refresh grants from skopeo, not more mints.
    expect(tokenServer.tokenRequests().some((l) => l.grant === "refresh_token" && l.status === 200)).toBe(true);
  });

  it.each([
    ["file", async (dir: string) => {
      const path = join(dir, "token");
      writeFileSync(path, `${await githubJwt()}\n`);
      return { token: { file: path }, env: {} };
    }],
    ["command", async () => ({ token: { command: [process.execPath, "-e", `process.stdout.write(${JSON.stringify(await githubJwt())})`] }, env: {} })],
    ["github", async () => ({ token: { github: {} }, env: (await actionsOidc()).env as Record<string, string> })],
  ])("%s source: skopeo inspect pulls through the helper", async (_kind, setup) => {
    const before = mints(tokenServer.tokenRequests()).length;
    const dir = makeTempDir("helper-e2e-token");
    cleanups.push(() => removeDir(dir));
    const { token, env } = await setup(dir);
    const j = await job(token, env);
    const inspect = await skopeo(j, "inspect", [ref("acme/app:v1")]);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(await mintsAfter(before, 1)).toHaveLength(1);
  });

  it("docker manifest inspect reads credHelpers from docker's config.json and gets the identity token from the helper", async () => {
    const before = mints(tokenServer.tokenRequests()).length;
    const j = await job({ env: "CI_ID_TOKEN" }, { CI_ID_TOKEN: await githubJwt() });
    expect(JSON.parse(readFileSync(join(j.env["DOCKER_CONFIG"] as string, "config.json"), "utf8"))).toEqual({ credHelpers: { [registry.host]: "jwt-registry-auth" } });
    // No daemon: DOCKER_HOST names a socket that does not exist, `docker manifest` works client-side.
    const env = { ...j.env, DOCKER_HOST: `unix://${join(j.env["HOME"] as string, "no-daemon.sock")}`, DOCKER_CLI_HINTS: "false" };
    const inspect = await timings.measure("docker manifest inspect through the helper", () =>
      runCommand("docker", ["manifest", "inspect", "--insecure", `${registry.host}/acme/app:v1`], { env, timeoutMs: 60_000 }),
    );
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(JSON.parse(inspect.stdout)).toMatchObject({ schemaVersion: 2 });
    expect(await mintsAfter(before, 1)).toHaveLength(1);
  });

  it("still pulls after the workload token has expired, without minting again", async () => {
    // A GitHub-shaped token inside its last seconds of the verifier's leeway.
    const oidc = await actionsOidc({ expiresIn: 300, issuedAgo: 300 + LEEWAY_SECONDS - 15 });
    const j = await job({ github: {} }, oidc.env);
    const before = mints(tokenServer.tokenRequests()).length;
    const first = await skopeo(j, "inspect", [ref("acme/app:v1")]);
    expect(first.code, first.stderr).toBe(0);
    const jwt = oidc.issued.at(-1) as string;
    const exp = (JSON.parse(Buffer.from(jwt.split(".")[1] as string, "base64url").toString()) as { exp: number }).exp;
    const deadline = (exp + LEEWAY_SECONDS + 2) * 1000;
    await timings.measure("wait for the workload token to expire beyond the leeway", () => new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now()))));
    const refused = await requestToken(tokenServer.realm, { service: registry.host, credential: { username: "ci", password: jwt } });
    expect(refused.status).toBe(401);
    const later = await skopeo(j, "inspect", [ref("acme/app:v1")]);
    expect(later.code, later.stderr).toBe(0);
    expect(await mintsAfter(before, 1)).toHaveLength(1);
    expect(oidc.issued).toHaveLength(1);
  });
});

describe("the same, through the proxy Worker", () => {
  it.each([
    ["env", async () => ({ token: { env: "CI_ID_TOKEN" }, env: { CI_ID_TOKEN: await githubJwt(undefined, PROXY_SERVICE) } })],
    ["file", async (dir: string) => {
      const path = join(dir, "token");
      writeFileSync(path, `${await githubJwt(undefined, PROXY_SERVICE)}\n`);
      return { token: { file: path }, env: {} };
    }],
    ["command", async () => ({ token: { command: [process.execPath, "-e", `process.stdout.write(${JSON.stringify(await githubJwt(undefined, PROXY_SERVICE))})`] }, env: {} })],
    // The GitHub source asks for the challenge's service as its audience: the proxy's.
    ["github", async () => ({ token: { github: {} }, env: (await actionsOidc()).env as Record<string, string> })],
  ])("%s source: skopeo inspect pulls through the proxy, one mint for the proxy's service", async (_kind, setup) => {
    const before = mints(tokenServer.tokenRequests()).length;
    const dir = makeTempDir("helper-e2e-token");
    cleanups.push(() => removeDir(dir));
    const { token, env } = await setup(dir);
    const j = await job(token, env, proxy.host);
    const inspect = await skopeo(j, "inspect", [`docker://${proxy.host}/acme/app:v1`]);
    expect(inspect.code, inspect.stderr).toBe(0);
    const minted = await mintsAfter(before, 1);
    expect(minted).toHaveLength(1);
    expect(minted[0]).toMatchObject({ status: 200, service: PROXY_SERVICE });
  });
});
