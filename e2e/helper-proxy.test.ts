/**
 * The Action's `credential-helper: true` and the credential helper through the
 * auth proxy, end to end: `node action/dist/main.mjs` (as the runner runs it)
 * installs the helper it ships in dist/ and points credHelpers at it; a later
 * "step" then runs real skopeo with the PATH and JWT_REGISTRY_AUTH_HELPER_CONFIG
 * that main wrote to GITHUB_PATH/GITHUB_ENV, through the proxy Worker under
 * `wrangler dev` in front of Distribution 2.8.2 (no auth of its own), with the
 * token server Worker under `wrangler dev` issuing the tokens. The helper mints
 * from the GitHub-shaped request endpoint for the proxy's service. A pull
 * succeeds (skopeo, and `docker manifest inspect` through docker's config.json),
 * a push the policy does not allow is refused, and post uninstalls.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildOciImage,
  createTimings,
  makeTempDir,
  removeDir,
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
import { startActionsOidcEndpoint, type ActionsOidcEndpoint } from "@jwt-registry-auth/action/test/actions-oidc-endpoint";
import { DIST_DIR, runStep, type StepRun } from "@jwt-registry-auth/action/test/github-runner";
import { logWhen, startProxy, type Proxy } from "./proxy-harness.ts";

const SERVICE = "e2e-helper-proxy";
const OWNER_ID = "2468013";
const HELPER_CLIENT_ID = "docker-credential-jwt-registry-auth";

/** GitHub workflows of acme: pull and push acme/*, only pull public/*; refresh tokens, as the helper needs. */
function providersYaml(issuer: OidcIssuer): string {
  return `providers:
  - name: gha
    issuer: ${JSON.stringify(issuer.url)}
    audiences:
      - ${JSON.stringify(SERVICE)}
    authn:
      condition: |
        claims.repository_owner_id == "${OWNER_ID}"
    authz:
      condition: |
        claims.repository_owner_id == "${OWNER_ID}" && service == "${SERVICE}" &&
        scope.type == "repository" && (
          (scope.name.startsWith("acme/") && (scope.action == "pull" || scope.action == "push")) ||
          (scope.name.startsWith("public/") && scope.action == "pull"))
    refresh:
      lifetime: 1h
`;
}

const timings = createTimings();
const cleanups: (() => void | Promise<void>)[] = [];
let issuer: OidcIssuer;
let tokenServer: TokenServer;
let registry: Registry;
let proxy: Proxy;
let image: OciImage;
let oidc: ActionsOidcEndpoint;

beforeAll(async () => {
  issuer = await startOidcIssuer({ alg: "RS256", path: "/github" });
  cleanups.push(() => issuer.close());
  oidc = await startActionsOidcEndpoint(issuer, { github: { owner: "acme", ownerId: OWNER_ID } });
  cleanups.push(() => oidc.close());
  image = await buildOciImage();
  cleanups.push(() => image.cleanup());
  tokenServer = await timings.measure("start token server", () => startTokenServer({ providersYaml: providersYaml(issuer) }));
  cleanups.push(() => tokenServer.stop());
  registry = await timings.measure("start docker-registry (no auth)", () => startRegistry({ auth: { kind: "none" } }));
  cleanups.push(() => registry.stop());
  proxy = await timings.measure("start proxy (wrangler dev)", () => startProxy({ upstream: registry, tokenServer, service: SERVICE }));
  cleanups.push(() => proxy.stop());
  // The image to pull, put upstream directly (the registry itself has no auth).
  const seed = await runCommand("skopeo", ["--insecure-policy", "copy", "--dest-tls-verify=false", image.reference, `docker://${registry.host}/acme/app:v1`], { timeoutMs: 120_000 });
  expect(seed.code, seed.stderr).toBe(0);
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  console.log(timings.format("helper through the proxy e2e"));
});

/** The helper's offline-token requests (mints) the token server has logged. */
const mints = (lines: readonly TokenRequestLogLine[]): TokenRequestLogLine[] => lines.filter((l) => l.clientId === HELPER_CLIENT_ID && l.grant === "password");

describe("credential-helper: true, then skopeo through the proxy", () => {
  let home: string;
  let jobEnv: Record<string, string>;
  let main: StepRun;
  /** A later step's environment: the runner applies GITHUB_PATH and GITHUB_ENV. */
  let later: Record<string, string>;
  const authFile = (): string => join(home, "containers", "auth.json");
  const ref = (repository: string): string => `docker://${proxy.host}/${repository}`;
  const skopeo = (args: string[]): Promise<CommandResult> =>
    runCommand("skopeo", ["--insecure-policy", "copy", "--src-tls-verify=false", "--dest-tls-verify=false", "--authfile", authFile(), ...args], { env: later, timeoutMs: 120_000 });

  beforeAll(async () => {
    home = makeTempDir("helper-proxy-home");
    cleanups.push(() => removeDir(home));
    jobEnv = { ...oidc.env, HOME: home, DOCKER_CONFIG: join(home, "docker"), REGISTRY_AUTH_FILE: join(home, "containers", "auth.json"), RUNNER_TEMP: home };
    main = await timings.measure("action main (credential-helper: true)", () =>
      runStep(join(DIST_DIR, "main.mjs"), { inputs: { registry: proxy.host, provider: "gha", audience: SERVICE, "credential-helper": "true" }, env: jobEnv }),
    );
    expect(main.errors).toEqual([]);
    expect(main.exitCode, main.stdout).toBe(0);
    later = {
      ...jobEnv,
      ...main.exported,
      PATH: [...[...main.paths].reverse(), dirname(process.execPath), process.env["PATH"] ?? "/usr/bin:/bin"].join(":"),
    };
  });

  it("main proved the login and configured credHelpers, writing no static credential", () => {
    expect(main.paths).toHaveLength(1);
    expect(existsSync(join(main.paths[0] as string, HELPER_CLIENT_ID))).toBe(true);
    expect(later["JWT_REGISTRY_AUTH_HELPER_CONFIG"]).toBe(join(dirname(main.paths[0] as string), "helper.json"));
    for (const file of [join(home, "docker", "config.json"), authFile()]) expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({ credHelpers: { [proxy.host]: "jwt-registry-auth" } });
    expect(main.stdout).toContain(`accepts a token from`);
  });

  it("skopeo pulls through the proxy with the helper's credential", async () => {
    const before = mints(tokenServer.tokenRequests()).length;
    const dir = makeTempDir("helper-proxy-pull");
    cleanups.push(() => removeDir(dir));
    const pull = await timings.measure("skopeo pull via proxy through the helper (mint)", () => skopeo([ref("acme/app:v1"), `oci:${dir}:pulled`]));
    expect(pull.code, pull.stderr).toBe(0);
    const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8")) as { manifests: { digest: string }[] };
    expect(index.manifests[0]?.digest).toBe(image.manifest.digest);
    const lines = await tokenServer.tokenRequestsWhen((all) => mints(all).length > before, 5_000);
    const minted = mints(lines).slice(before);
    expect(minted).toHaveLength(1);
    expect(minted[0]).toMatchObject({ status: 200, provider: "gha", refreshIssued: true, service: SERVICE });
    // skopeo traded the helper's refresh token for its registry token.
    expect(lines.some((l) => l.grant === "refresh_token" && l.status === 200 && l.service === SERVICE)).toBe(true);
  });

  it("a push the policy allows goes through; one it does not allow is refused and nothing reaches the registry", async () => {
    const allowed = await timings.measure("skopeo push via proxy through the helper", () => skopeo([image.reference, ref("acme/app:v2")]));
    expect(allowed.code, allowed.stderr).toBe(0);
    const refused = await skopeo([image.reference, ref("public/base:v1")]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/unauthorized|authentication required|denied/i);
    expect(registry.storedRepositories()).not.toContain("public/base");
    const log = await logWhen(proxy, (lines) => lines.some((l) => l.repository === "public/base" && l.status === 401));
    expect(log.some((l) => l.repository === "public/base" && l.status === 401)).toBe(true);
  });

  it("docker manifest inspect reads credHelpers from docker's config.json and pulls the manifest through the proxy", async () => {
    // No daemon: DOCKER_HOST names a socket that does not exist, `docker manifest` works client-side.
    const env = { ...later, DOCKER_HOST: `unix://${join(home, "no-daemon.sock")}`, DOCKER_CLI_HINTS: "false" };
    const inspect = await timings.measure("docker manifest inspect via proxy through the helper", () =>
      runCommand("docker", ["manifest", "inspect", "--insecure", `${proxy.host}/acme/app:v1`], { env, timeoutMs: 60_000 }),
    );
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(JSON.parse(inspect.stdout)).toMatchObject({ schemaVersion: 2, config: { digest: image.config.digest } });
  });

  it("post removes the credHelpers entries and the helper with its config and cache", async () => {
    const post = await runStep(join(DIST_DIR, "post.mjs"), { inputs: {}, env: jobEnv, state: main.state });
    expect(post.errors).toEqual([]);
    expect(post.exitCode).toBe(0);
    for (const file of [join(home, "docker", "config.json"), authFile()]) expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({});
    expect(existsSync(dirname(main.paths[0] as string))).toBe(false);
    // Without the helper the proxy lets nobody in.
    const anonymous = await runCommand("skopeo", ["inspect", "--tls-verify=false", "--authfile", authFile(), ref("acme/app:v1")], { env: later, timeoutMs: 60_000 });
    expect(anonymous.code).not.toBe(0);
  });
});
