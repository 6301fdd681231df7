/**
 * The GitHub Action end to end, run the way the runner runs it: `node
 * action/dist/main.mjs` and later `node action/dist/post.mjs`, with `INPUT_*`,
 * `GITHUB_OUTPUT`/`GITHUB_STATE` files and `ACTIONS_ID_TOKEN_REQUEST_URL` served
 * by a stand-in that mints GitHub-shaped tokens from a local issuer. The login
 * it writes is then used by real skopeo and the docker CLI against the Debian
 * `docker-registry` (Distribution 2.8.2), whose auth is the token server Worker
 * under `wrangler dev`.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildOciImage,
  createDockerConfig,
  createTimings,
  dockerManifestInspect,
  freePort,
  makeTempDir,
  removeDir,
  requestToken,
  sha256Hex,
  skopeoCopy,
  skopeoInspect,
  startOidcIssuer,
  startRegistry,
  startTokenServer,
  type CommandResult,
  type OciImage,
  type OidcIssuer,
  type Registry,
  type TokenServer,
} from "@jwt-registry-auth/testkit";
import { startActionsOidcEndpoint, type ActionsOidcEndpoint, type EndpointOptions } from "@jwt-registry-auth/action/test/actions-oidc-endpoint";
import { DIST_DIR, runStep, type StepRun } from "@jwt-registry-auth/action/test/github-runner";

const OWNER_ID = "1234567";
/** The token server's clock leeway on `exp`. */
const LEEWAY_SECONDS = 60;

/**
 * The provider as action/README.md recommends it: GitHub's tokens for the
 * registry host as audience, the owner pinned by its immutable id, pushes only
 * to the workflow's own repository from main. `gha-no-refresh` is the same
 * without refresh tokens.
 */
function providersYaml(issuer: OidcIssuer, registryHost: string): string {
  const provider = (name: string, refresh: string) => `  - name: ${name}
    issuer: ${JSON.stringify(issuer.url)}
    audiences:
      - ${JSON.stringify(registryHost)}
    authn:
      condition: |
        claims.repository_owner_id == "${OWNER_ID}" && claims.repository_owner == "acme"
    authz:
      condition: |
        claims.repository_owner_id == "${OWNER_ID}" &&
        scope.type == "repository" &&
        (scope.action == "pull" && scope.name.startsWith("acme/") ||
         scope.action == "push" && scope.name == claims.repository && claims.ref == "refs/heads/main")
    refresh: ${refresh}
`;
  return `providers:\n${provider("gha", "\n      lifetime: 1h")}${provider("gha-no-refresh", "false")}`;
}

const timings = createTimings();
const cleanups: (() => void | Promise<void>)[] = [];
let issuer: OidcIssuer;
let tokenServer: TokenServer;
let registry: Registry;
let image: OciImage;

beforeAll(async () => {
  issuer = await startOidcIssuer({ alg: "RS256", path: "/github" });
  cleanups.push(() => issuer.close());
  image = await buildOciImage();
  cleanups.push(() => image.cleanup());
  // The registry's port is chosen first: its host is the audience the provider accepts and the token `service`.
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  tokenServer = await timings.measure("start token server", () => startTokenServer({ providersYaml: providersYaml(issuer, host) }));
  cleanups.push(() => tokenServer.stop());
  registry = await timings.measure("start docker-registry", () =>
    startRegistry({ port, auth: { kind: "token", realm: tokenServer.realm, service: host, issuer: tokenServer.tokenIssuer, rootCertBundlePath: tokenServer.certPath } }),
  );
  cleanups.push(() => registry.stop());
  // A first token request warms the token server (issuer discovery, JWKS, policy from D1), so
  // the short-lived token in the refresh test is not spent on a cold start.
  const jwt = await issuer.github({ owner: "acme", ownerId: OWNER_ID, audience: host });
  const warm = await requestToken(tokenServer.realm, { service: host, credential: { username: "gha", password: jwt } });
  expect(warm.status).toBe(200);
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  console.log(timings.format("action e2e"));
});

async function actionsOidc(options: EndpointOptions = {}): Promise<ActionsOidcEndpoint> {
  const endpoint = await startActionsOidcEndpoint(issuer, { ...options, github: { owner: "acme", ownerId: OWNER_ID, ...options.github } });
  cleanups.push(() => endpoint.close());
  return endpoint;
}

/** A job: its own DOCKER_CONFIG directory and the Actions OIDC environment. */
function jobEnv(oidc: ActionsOidcEndpoint): { env: Record<string, string>; configPath: string } {
  const dockerConfig = makeTempDir("action-e2e-docker");
  cleanups.push(() => removeDir(dockerConfig));
  return { env: { ...oidc.env, DOCKER_CONFIG: dockerConfig }, configPath: join(dockerConfig, "config.json") };
}

const ref = (repository: string): string => `docker://${registry.host}/${repository}`;
const authsOf = (configPath: string): Record<string, Record<string, string>> =>
  (JSON.parse(readFileSync(configPath, "utf8")) as { auths: Record<string, Record<string, string>> }).auths;

/** Pulls into a fresh OCI layout; returns the manifest digest. */
async function pull(repository: string, authFile: string): Promise<CommandResult & { digest?: string }> {
  const dir = makeTempDir("action-e2e-pull");
  try {
    const copy = await skopeoCopy(ref(repository), `oci:${dir}:pulled`, { authFile });
    if (copy.code !== 0) return copy;
    const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8")) as { manifests: { digest: string }[] };
    return { ...copy, digest: index.manifests[0]?.digest ?? "" };
  } finally {
    removeDir(dir);
  }
}

function expectLoggedIn(main: StepRun): void {
  expect(main.errors, main.stdout).toEqual([]);
  expect(main.exitCode, main.stderr).toBe(0);
  expect(main.outputs["registry"]).toBe(registry.host);
}

/** What "logged in" took inside main, as it reports it (from process start). */
const reportedMs = (main: StepRun): number => Number(/ in (\d+) ms$/m.exec(main.stdout)?.[1]);

const mainScript = join(DIST_DIR, "main.mjs");
const postScript = join(DIST_DIR, "post.mjs");

describe("the Action logs a job in with its OIDC token", () => {
  it("with refresh: skopeo pushes and pulls, still pulls (and docker still reads) after the OIDC token expired, and is refused after post", async () => {
    // The token is minted already past `exp` but inside the token server's leeway: it is good for
    // the login and for good dead seconds later, so the test waits seconds instead of five minutes.
    const oidc = await actionsOidc({ expiresIn: 300, issuedAgo: 300 + LEEWAY_SECONDS - 15 });
    const { env, configPath } = jobEnv(oidc);

    const main = await timings.measure("main (refresh): start → logged in", () => runStep(mainScript, { inputs: { registry: registry.url, provider: "gha" }, env }));
    expectLoggedIn(main);
    const jwt = oidc.issued.at(-1) as string;
    expect(oidc.audiences).toEqual([registry.host]);
    const entry = authsOf(configPath)[registry.host];
    expect(entry?.["auth"]).toBe(Buffer.from("gha:").toString("base64"));
    expect(entry?.["identitytoken"]).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(main.masks).toEqual(expect.arrayContaining([jwt, entry?.["identitytoken"]]));
    expect(Date.parse(main.outputs["expires-at"] ?? "") - Date.now()).toBeGreaterThan(50 * 60_000);
    // The token server's audit line for the login names the same token hash the Action logged.
    const login = (await tokenServer.tokenRequestsWhen((lines) => lines.some((r) => r.tokenSha256 === sha256Hex(jwt)))).find((r) => r.tokenSha256 === sha256Hex(jwt));
    expect(login, tokenServer.logs().slice(-2000)).toMatchObject({ status: 200, provider: "gha", clientId: "jwt-registry-auth-action", refreshIssued: true });
    expect(main.stdout).toContain(`sha256 ${sha256Hex(jwt)}`);
    console.log(`action main (refresh): ${reportedMs(main)} ms from process start to logged in; ${main.elapsedMs.toFixed(0)} ms for the whole step process`);

    const push = await timings.measure("skopeo push with the Action's login", () => skopeoCopy(image.reference, ref("acme/app:v1"), { authFile: configPath }));
    expect(push.code, push.stderr).toBe(0);
    expect((await pull("acme/app:v1", configPath)).digest).toBe(image.manifest.digest);

    const expiredAt = (JSON.parse(Buffer.from(jwt.split(".")[1] as string, "base64url").toString()) as { exp: number }).exp;
    const deadline = (expiredAt + LEEWAY_SECONDS + 2) * 1000;
    await timings.measure("wait for the OIDC token to expire beyond the leeway", () => new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now()))));
    // Control: the OIDC token itself is now refused, so what follows is the refresh token's doing.
    const asPassword = createDockerConfig({ [registry.host]: { username: "gha", password: jwt } });
    cleanups.push(() => asPassword.cleanup());
    const refused = await skopeoInspect(ref("acme/app:v1"), { authFile: asPassword.path });
    expect(refused.code).not.toBe(0);

    const later = await timings.measure("skopeo pull after the OIDC token expired", () => pull("acme/app:v1", configPath));
    expect(later.code, later.stderr).toBe(0);
    expect(later.digest).toBe(image.manifest.digest);
    const docker = await dockerManifestInspect(`${registry.host}/acme/app:v1`, { configDir: env["DOCKER_CONFIG"] as string });
    expect(docker.code, docker.stderr).toBe(0);
    expect(JSON.parse(docker.stdout)).toMatchObject({ config: { digest: image.config.digest } });

    const post = await runStep(postScript, { inputs: {}, env, state: main.state });
    expect(post.exitCode, post.stdout).toBe(0);
    expect(authsOf(configPath)).toEqual({});
    const afterPost = await skopeoInspect(ref("acme/app:v1"), { authFile: configPath });
    expect(afterPost.code).not.toBe(0);
    expect(afterPost.stderr).toMatch(/unauthorized|authentication required/i);
  });

  it("with refresh: false, the OIDC token is the password: push and pull work until post logs out", async () => {
    const oidc = await actionsOidc();
    const { env, configPath } = jobEnv(oidc);
    const main = await timings.measure("main (refresh: false): start → logged in", () =>
      runStep(mainScript, { inputs: { registry: registry.url, provider: "gha", refresh: "false" }, env }),
    );
    expectLoggedIn(main);
    const jwt = oidc.issued.at(-1) as string;
    expect(authsOf(configPath)[registry.host]).toEqual({ auth: Buffer.from(`gha:${jwt}`).toString("base64") });
    expect(main.outputs["expires-at"]).toBe(new Date((JSON.parse(Buffer.from(jwt.split(".")[1] as string, "base64url").toString()) as { exp: number }).exp * 1000).toISOString());
    console.log(`action main (refresh: false): ${reportedMs(main)} ms from process start to logged in`);

    const push = await skopeoCopy(image.reference, ref("acme/app:v2"), { authFile: configPath });
    expect(push.code, push.stderr).toBe(0);
    expect((await pull("acme/app:v2", configPath)).digest).toBe(image.manifest.digest);

    const post = await runStep(postScript, { inputs: {}, env, state: main.state });
    expect(post.exitCode).toBe(0);
    const afterPost = await skopeoInspect(ref("acme/app:v2"), { authFile: configPath });
    expect(afterPost.code).not.toBe(0);
  });

  it("refresh auto falls back to the password, with a warning, when the provider gives no refresh token", async () => {
    const oidc = await actionsOidc();
    const { env, configPath } = jobEnv(oidc);
    const main = await runStep(mainScript, { inputs: { registry: registry.url, username: "gha-no-refresh" }, env });
    expectLoggedIn(main);
    expect(main.warnings).toEqual([expect.stringContaining('refresh tokens are off for provider "gha-no-refresh"')]);
    expect(authsOf(configPath)[registry.host]).toEqual({ auth: Buffer.from(`gha-no-refresh:${oidc.issued.at(-1) as string}`).toString("base64") });
    expect((await pull("acme/app:v1", configPath)).digest).toBe(image.manifest.digest);
  });

  it("an owner with the same name but another id is refused at login: exit 1, ::error::, no login written", async () => {
    const oidc = await actionsOidc({ github: { owner: "acme", ownerId: "7654321" } });
    const { env, configPath } = jobEnv(oidc);
    const main = await runStep(mainScript, { inputs: { registry: registry.url, provider: "gha" }, env });
    expect(main.exitCode).toBe(1);
    // An authn refusal is 403 DENIED, naming no policy text (the token server logs the refusing term under the request id).
    expect(main.errors).toEqual([expect.stringMatching(/refused the OIDC token for provider "gha": HTTP 403: authentication refused by policy/)]);
    expect(main.state).toEqual({});
    expect(() => readFileSync(configPath)).toThrow(/ENOENT/);
  });

  it("refuses to push outside the policy: another repository is not the workflow's own", async () => {
    const oidc = await actionsOidc();
    const { env, configPath } = jobEnv(oidc);
    expectLoggedIn(await runStep(mainScript, { inputs: { registry: registry.url, provider: "gha" }, env }));
    const push = await skopeoCopy(image.reference, ref("acme/other:v1"), { authFile: configPath });
    expect(push.code).not.toBe(0);
    expect(registry.storedRepositories()).not.toContain("acme/other");
  });
});
