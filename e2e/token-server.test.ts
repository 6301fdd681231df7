/**
 * The token server end to end: the real Distribution 2.8.2 registry with
 * `auth.token` pointing at the token-server Worker under `wrangler dev`, real
 * skopeo and docker CLI clients, and local OIDC issuers standing in for GitHub
 * Actions and a Kubernetes cluster. The workload JWT is the registry password.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildOciImage,
  createDockerConfig,
  createTimings,
  dockerLogin,
  dockerManifestInspect,
  fetchWithRegistryAuth,
  grantedAccess,
  makeTempDir,
  readAuthFile,
  removeDir,
  requestToken,
  skopeoCopy,
  skopeoInspect,
  startOidcIssuer,
  startRegistry,
  startTokenServer,
  type DockerConfigDir,
  type OciImage,
  type OidcIssuer,
  type Registry,
  type RegistryCredential,
  type TokenServer,
} from "@jwt-registry-auth/testkit";

const SERVICE = "e2e-registry";
const OWNER_ID = "1234567";
/** Distribution's and the token server's clock leeway. */
const LEEWAY_SECONDS = 60;

/**
 * github: the owner's workflows pull and push acme/*; refresh tokens for an hour.
 * cluster: pods in namespace "builds" pull acme/* and may list the catalog; its
 * keys are given inline (the `jwks` source) rather than by discovery.
 */
function providersYaml(github: OidcIssuer, cluster: OidcIssuer): string {
  return `providers:
  - name: github
    description: GitHub-shaped workloads of the acme organization
    issuer: ${JSON.stringify(github.url)}
    authn:
      condition: |
        claims.repository_owner_id == "${OWNER_ID}"
    authz:
      condition: |
        scope.type == "repository" && scope.name.startsWith("acme/") &&
        (scope.action == "pull" || scope.action == "push")
    refresh:
      lifetime: 1h
  - name: cluster
    description: Kubernetes-shaped workloads of namespace builds
    issuer: ${JSON.stringify(cluster.url)}
    jwks: ${JSON.stringify(cluster.jwks())}
    authn:
      condition: |
        claims.sub.startsWith("system:serviceaccount:")
    authz:
      condition: |
        (scope.type == "registry" && scope.name == "catalog" && scope.action == "*") ||
        (scope.type == "repository" && scope.name.startsWith("acme/") && scope.action == "pull" &&
          claims["kubernetes.io"].namespace == "builds")
    refresh: false
`;
}

const timings = createTimings();
const cleanups: (() => void | Promise<void>)[] = [];
let github: OidcIssuer;
let cluster: OidcIssuer;
let tokenServer: TokenServer;
let registry: Registry;
let image: OciImage;

beforeAll(async () => {
  [github, cluster] = await Promise.all([startOidcIssuer({ alg: "RS256", path: "/github" }), startOidcIssuer({ alg: "ES256", path: "/cluster" })]);
  cleanups.push(() => github.close(), () => cluster.close());
  image = await timings.measure("build OCI image (offline)", () => buildOciImage({ layers: [2048, 512 * 1024] }));
  cleanups.push(() => image.cleanup());
  tokenServer = await timings.measure("start token server (key, policy apply ‖ wrangler dev)", () =>
    startTokenServer({ providersYaml: providersYaml(github, cluster) }),
  );
  cleanups.push(() => tokenServer.stop());
  registry = await timings.measure("start docker-registry", () =>
    startRegistry({ auth: { kind: "token", realm: tokenServer.realm, service: SERVICE, issuer: tokenServer.tokenIssuer, rootCertBundlePath: tokenServer.certPath } }),
  );
  cleanups.push(() => registry.stop());
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  console.log(timings.format("token server e2e"));
});

const githubJwt = (mint?: Parameters<OidcIssuer["github"]>[1]): Promise<string> => github.github({ owner: "acme", ownerId: OWNER_ID, audience: SERVICE }, mint);
const clusterJwt = (): Promise<string> => cluster.kubernetes({ namespace: "builds", serviceAccount: "builder", audience: [SERVICE] });

/** A credentials file for the registry (docker config.json format, which skopeo reads too). */
function credentialsFor(credential: RegistryCredential): DockerConfigDir {
  const config = createDockerConfig({ [registry.host]: credential });
  cleanups.push(() => config.cleanup());
  return config;
}

const ref = (repository: string): string => `docker://${registry.host}/${repository}`;

/** Pulls into a fresh OCI layout and returns the manifest digest it recorded. */
async function pullDigest(repository: string, authFile: string): Promise<string> {
  const dir = makeTempDir("e2e-pull");
  try {
    const pull = await skopeoCopy(ref(repository), `oci:${dir}:pulled`, { authFile });
    expect(pull.code, pull.stderr).toBe(0);
    const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8")) as { manifests: { digest: string }[] };
    for (const layer of image.layers) expect(readFileSync(join(dir, "blobs", "sha256", layer.digest.slice(7))).length).toBe(layer.size);
    return index.manifests[0]?.digest ?? "";
  } finally {
    removeDir(dir);
  }
}

describe("registry token auth with workload JWTs as passwords", () => {
  it("skopeo pushes an image with a GitHub-shaped JWT", async () => {
    const creds = credentialsFor({ username: "github", password: await githubJwt() });
    const push = await timings.measure("1. skopeo push (2 layers)", () => skopeoCopy(image.reference, ref("acme/app:v1"), { authFile: creds.path }));
    expect(push.code, push.stderr).toBe(0);
    expect(registry.storedRepositories()).toContain("acme/app");
    const grants = tokenServer.tokenRequests().filter((r) => r.provider === "github" && r.status === 200);
    expect(grants.some((r) => r.granted?.includes("repository:acme/app:push"))).toBe(true);
  });

  it("skopeo inspect and copy pull it back with the same digests", async () => {
    const creds = credentialsFor({ username: "github", password: await githubJwt() });
    const inspect = await timings.measure("2a. skopeo inspect", () => skopeoInspect(ref("acme/app:v1"), { authFile: creds.path }));
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(inspect.digest).toBe(image.manifest.digest);
    expect(await timings.measure("2b. skopeo pull", () => pullDigest("acme/app:v1", creds.path))).toBe(image.manifest.digest);
  });

  it("a Kubernetes-shaped JWT (keys from an inline JWKS) pulls too", async () => {
    const creds = credentialsFor({ username: "cluster", password: await clusterJwt() });
    const inspect = await skopeoInspect(ref("acme/app:v1"), { authFile: creds.path });
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(inspect.digest).toBe(image.manifest.digest);

    // The policy reads the kubernetes.io claims: a pod of another namespace gets nothing.
    const otherNamespace = await cluster.kubernetes({ namespace: "other", serviceAccount: "builder", audience: [SERVICE] });
    const refused = await skopeoInspect(ref("acme/app:v1"), { authFile: credentialsFor({ username: "cluster", password: otherNamespace }).path });
    expect(refused.code).not.toBe(0);
  });

  it("skopeo copies to another repository by cross-repository blob mount", async () => {
    const creds = credentialsFor({ username: "github", password: await githubJwt() });
    const copy = await timings.measure("3. skopeo copy acme/app -> acme/other (mount)", () => skopeoCopy(ref("acme/app:v1"), ref("acme/other:v1"), { authFile: creds.path }));
    expect(copy.code, copy.stderr).toBe(0);
    // The registry accepted a mount (201) of a layer from acme/app instead of an upload.
    const mounted = image.layers.filter((layer) =>
      registry.logs().includes(`"POST /v2/acme/other/blobs/uploads/?from=acme%2Fapp&mount=${encodeURIComponent(layer.digest)} HTTP/1.1" 201`),
    );
    expect(mounted.length).toBeGreaterThan(0);
    // For it, skopeo asked for one token covering both repositories, and got both grants.
    const both = tokenServer.tokenRequests().find((r) => r.status === 200 && r.granted?.includes("repository:acme/other:push") && r.granted.includes("repository:acme/app:pull"));
    expect(both, JSON.stringify(tokenServer.tokenRequests().slice(-4))).toBeDefined();
    expect((await skopeoInspect(ref("acme/other:v1"), { authFile: creds.path })).digest).toBe(image.manifest.digest);
  });

  it("docker manifest inspect works with the JWT in the docker config", async () => {
    const config = credentialsFor({ username: "github", password: await githubJwt() });
    const inspect = await timings.measure("4. docker manifest inspect", () => dockerManifestInspect(`${registry.host}/acme/app:v1`, { configDir: config.dir }));
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(JSON.parse(inspect.stdout)).toMatchObject({ config: { digest: image.config.digest }, layers: image.layers.map((l) => ({ digest: l.digest })) });
  });

  it("_catalog answers only for a provider whose policy grants registry:catalog:*", async () => {
    const anonymous = await fetchWithRegistryAuth(`${registry.url}/v2/_catalog`, undefined);
    expect(anonymous.response.status).toBe(401);

    const jwt = await clusterJwt();
    const granted = await timings.measure("5. catalog (bearer dance)", () => fetchWithRegistryAuth(`${registry.url}/v2/_catalog`, { username: "cluster", password: jwt }));
    expect(granted.challenge?.scope).toBe("registry:catalog:*");
    expect(granted.response.status).toBe(200);
    expect(((await granted.response.json()) as { repositories: string[] }).repositories).toEqual(["acme/app", "acme/other"]);

    const refused = await fetchWithRegistryAuth(`${registry.url}/v2/_catalog`, { username: "github", password: await githubJwt() });
    // Authenticated, so the token server answers 200 — with the catalog scope left out.
    expect(refused.token?.status).toBe(200);
    expect(grantedAccess(String(refused.token?.body["token"]))).toEqual([]);
    expect(refused.response.status).toBe(401);
  });

  it("a push outside the policy fails and writes nothing", async () => {
    const creds = credentialsFor({ username: "github", password: await githubJwt() });
    const push = await timings.measure("6. skopeo push to evil/app (denied)", () => skopeoCopy(image.reference, ref("evil/app:v1"), { authFile: creds.path }));
    expect(push.code).not.toBe(0);
    expect(push.stderr).toMatch(/unauthorized|denied|authentication required/i);
    expect(registry.storedRepositories()).not.toContain("evil/app");
    expect(tokenServer.tokenRequests().some((r) => r.provider === "github" && r.refused?.some((s) => s.startsWith("repository:evil/app:")))).toBe(true);

    // Pull-only in the cluster's policy: its push is refused as well.
    const pullOnly = credentialsFor({ username: "cluster", password: await clusterJwt() });
    const clusterPush = await skopeoCopy(image.reference, ref("acme/from-cluster:v1"), { authFile: pullOnly.path });
    expect(clusterPush.code).not.toBe(0);
    expect(registry.storedRepositories()).not.toContain("acme/from-cluster");
  });

  it("an unknown provider or a JWT from another issuer is a 401 from the token server", async () => {
    const wrongIssuer = await cluster.kubernetes({ namespace: "builds", serviceAccount: "builder", audience: [SERVICE] });
    expect((await requestToken(tokenServer.realm, { service: SERVICE, scopes: ["repository:acme/app:pull"], credential: { username: "github", password: wrongIssuer } })).status).toBe(401);
    expect((await requestToken(tokenServer.realm, { service: SERVICE, scopes: ["repository:acme/app:pull"], credential: { username: "nobody", password: await githubJwt() } })).status).toBe(401);
    const creds = credentialsFor({ username: "github", password: wrongIssuer });
    const inspect = await skopeoInspect(ref("acme/app:v1"), { authFile: creds.path });
    expect(inspect.code).not.toBe(0);
  });

  it("a refresh-token login outlives the workload JWT (manual docker-login request and real docker login)", async () => {
    // Already expired, but within the 60 s leeway: valid for logging in right now only.
    const now = Math.floor(Date.now() / 1000);
    const jwt = await githubJwt({ now: now - 100, expiresIn: 50 });
    const expiredBeyondLeeway = (now - 50 + LEEWAY_SECONDS + 2) * 1000;

    // What `docker login` sends: offline_token=true, client_id=docker, Basic credentials, no scope.
    const login = await timings.measure("7a. login for a refresh token", () =>
      requestToken(tokenServer.realm, { service: SERVICE, credential: { username: "github", password: jwt }, params: { client_id: "docker", offline_token: "true" } }),
    );
    expect(login.status, JSON.stringify(login.body)).toBe(200);
    const refresh = login.body["refresh_token"];
    expect(typeof refresh).toBe("string");
    const manual = credentialsFor({ username: "github", identityToken: String(refresh) });

    // The real docker CLI, client-side (no daemon), stores the refresh token as identitytoken.
    const docker = createDockerConfig();
    cleanups.push(() => docker.cleanup());
    const dockerResult = await timings.measure("7b. docker login", () => dockerLogin(registry.host, { username: "github", password: jwt }, { configDir: docker.dir }));
    expect(dockerResult.code, dockerResult.stderr).toBe(0);
    const stored = readAuthFile(docker.path).auths[registry.host];
    expect(stored?.auth).toBe(Buffer.from("github:").toString("base64"));
    expect(typeof stored?.identitytoken).toBe("string");
    expect(Date.now()).toBeLessThan(expiredBeyondLeeway - 2000);

    await timings.measure("7c. wait for the JWT to expire beyond leeway", () => new Promise((r) => setTimeout(r, Math.max(0, expiredBeyondLeeway - Date.now()))));

    // (a) The workload JWT alone is refused now.
    const direct = await requestToken(tokenServer.realm, { service: SERVICE, scopes: ["repository:acme/app:pull"], credential: { username: "github", password: jwt } });
    expect(direct.status).toBe(401);
    const withJwt = credentialsFor({ username: "github", password: jwt });
    expect((await skopeoInspect(ref("acme/app:v1"), { authFile: withJwt.path })).code).not.toBe(0);

    // (b) skopeo with the identitytoken still pulls, and pushes within the policy.
    expect(await timings.measure("7d. skopeo pull with identitytoken", () => pullDigest("acme/app:v1", manual.path))).toBe(image.manifest.digest);
    const push = await skopeoCopy(image.reference, ref("acme/refreshed:v1"), { authFile: manual.path });
    expect(push.code, push.stderr).toBe(0);
    expect(tokenServer.tokenRequests().some((r) => r.grant === "refresh_token" && r.status === 200 && r.clientId === "containers/image")).toBe(true);

    // (c) docker manifest inspect with docker login's identitytoken.
    const inspect = await timings.measure("7e. docker manifest inspect with identitytoken", () => dockerManifestInspect(`${registry.host}/acme/app:v1`, { configDir: docker.dir }));
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(JSON.parse(inspect.stdout)).toMatchObject({ config: { digest: image.config.digest } });
    expect(tokenServer.tokenRequests().some((r) => r.grant === "refresh_token" && r.status === 200 && r.clientId === "registry-client")).toBe(true);

    // The refresh token still obeys the policy: outside acme/ nothing is granted.
    const evil = await skopeoCopy(image.reference, ref("evil/refreshed:v1"), { authFile: manual.path });
    expect(evil.code).not.toBe(0);
    expect(registry.storedRepositories()).not.toContain("evil/refreshed");
  }, 180_000);
});
