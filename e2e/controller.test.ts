/**
 * Kubernetes service accounts as registry logins, end to end: the stand-in
 * cluster's service-account issuer is a provider in the token server (keys
 * by OIDC discovery at the issuer, and again as an inline JWKS exported from
 * the cluster); the controller (its bin, through a kubeconfig) writes pull
 * Secrets; skopeo uses those `.dockerconfigjson`s against the real Debian
 * docker-registry whose auth is the token server. The kubelet credential
 * provider's stdout, fed to skopeo as credentials, pulls too.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildOciImage,
  createDockerConfig,
  createTimings,
  freePort,
  makeTempDir,
  removeDir,
  skopeoCopy,
  skopeoInspect,
  startProcess,
  startRegistry,
  startTokenServer,
  type ManagedProcess,
  type OciImage,
  type Registry,
  type TokenServer,
} from "@jwt-registry-auth/testkit";
import { NAMESPACES, SECRETS, SERVICE_ACCOUNTS, startKubeApiServer, type KubeApiServer, type KubeObject } from "@jwt-registry-auth/testkit/kube-apiserver/index";
import { REPO_ROOT } from "@jwt-registry-auth/testkit/repo-root";

const REGISTRIES_ANNOTATION = "jwt-registry-auth.io/registries";

/**
 * The README's policy: workloads of namespace team-a pull team-a/*; its
 * "builder" ServiceAccount may also push there. Two providers for the same
 * cluster: keys by discovery, and keys as an inline JWKS (a private cluster).
 */
function providersYaml(cluster: KubeApiServer): string {
  const policy = `
    authn:
      condition: |
        claims.sub.startsWith("system:serviceaccount:")
    authz:
      condition: |
        scope.type == "repository" && scope.name.startsWith("team-a/") &&
        claims["kubernetes.io"].namespace == "team-a" &&
        (scope.action == "pull" ||
          (scope.action == "push" && claims["kubernetes.io"].serviceaccount.name == "builder"))
    refresh: false`;
  return `providers:
  - name: cluster
    issuer: ${JSON.stringify(cluster.issuer)}${policy}
  - name: cluster-jwks
    issuer: ${JSON.stringify(cluster.issuer)}
    jwks: ${JSON.stringify(cluster.jwks())}${policy}
`;
}

const timings = createTimings();
const cleanups: (() => void | Promise<void>)[] = [];
let cluster: KubeApiServer;
let tokenServer: TokenServer;
let registry: Registry;
let controller: ManagedProcess;
let image: OciImage;
let work: string;

const kube = (obj: unknown): KubeObject => obj as KubeObject;
const secretName = (sa: string): string => `${sa}-registry-${registry.host.replace(":", "-")}`;
const ref = (repository: string): string => `docker://${registry.host}/${repository}`;

/** The controller's Secret for a ServiceAccount, written out as a skopeo auth file. */
function authFileFromSecret(namespace: string, sa: string): string {
  const secret = cluster.store.get(SECRETS, namespace, secretName(sa));
  expect(secret["type"]).toBe("kubernetes.io/dockerconfigjson");
  const path = join(work, `${namespace}-${sa}.json`);
  writeFileSync(path, Buffer.from((secret["data"] as Record<string, string>)[".dockerconfigjson"] as string, "base64"), { mode: 0o600 });
  return path;
}

async function until<T>(check: () => T | undefined, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${controller.logs().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  work = makeTempDir("e2e-controller");
  cleanups.push(() => removeDir(work));
  cluster = await startKubeApiServer();
  cleanups.push(() => cluster.close());
  for (const name of ["team-a", "team-b", "jwt-registry-auth"]) cluster.store.create(NAMESPACES, undefined, kube({ metadata: { name } }));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  for (const [ns, sa] of [["team-a", "builder"], ["team-a", "app"], ["team-b", "app"]] as const) {
    cluster.store.create(SERVICE_ACCOUNTS, ns, kube({ metadata: { name: sa, annotations: { [REGISTRIES_ANNOTATION]: host } } }));
  }
  image = await timings.measure("build OCI image (offline)", () => buildOciImage({ layers: [4096] }));
  cleanups.push(() => image.cleanup());
  tokenServer = await timings.measure("start token server", () => startTokenServer({ providersYaml: providersYaml(cluster) }));
  cleanups.push(() => tokenServer.stop());
  // The registry's service is its host, so the default audience https://HOST is the controller's default too.
  registry = await timings.measure("start docker-registry", () =>
    startRegistry({ port, auth: { kind: "token", realm: tokenServer.realm, service: host, issuer: tokenServer.tokenIssuer, rootCertBundlePath: tokenServer.certPath } }),
  );
  cleanups.push(() => registry.stop());
  const kubeconfig = await cluster.writeKubeconfig(join(work, "kubeconfig"));
  controller = startProcess({
    command: process.execPath,
    args: ["controller/bin/controller.js", "--kubeconfig", kubeconfig, "--registry", `${host},provider=cluster`, "--listen", "127.0.0.1:0", "--lease-namespace", "jwt-registry-auth"],
    cwd: REPO_ROOT,
    logFile: join(work, "controller.log"),
  });
  cleanups.push(() => controller.stop());
  const attached = ([ns, sa]: readonly [string, string]): boolean =>
    cluster.store.find(SECRETS, ns, secretName(sa)) !== undefined &&
    JSON.stringify(cluster.store.get(SERVICE_ACCOUNTS, ns, sa)["imagePullSecrets"]) === JSON.stringify([{ name: secretName(sa) }]);
  await timings.measure("controller writes and attaches 3 pull secrets", () =>
    until(() => ([["team-a", "builder"], ["team-a", "app"], ["team-b", "app"]] as const).every(attached) || undefined, "attached pull secrets"),
  );
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  console.log(timings.format("controller e2e"));
});

describe("pull secrets written by the controller", () => {
  it("are owned by their ServiceAccounts", () => {
    const sa = cluster.store.get(SERVICE_ACCOUNTS, "team-a", "app");
    const secret = cluster.store.get(SECRETS, "team-a", secretName("app"));
    expect(secret.metadata.ownerReferences).toEqual([{ apiVersion: "v1", kind: "ServiceAccount", name: "app", uid: sa.metadata.uid }]);
    expect(sa["secrets"]).toEqual([{ name: secretName("app") }]);
  });

  it("let the team-a builder push to team-a/app", async () => {
    const push = await timings.measure("skopeo push with builder's secret", () => skopeoCopy(image.reference, ref("team-a/app:v1"), { authFile: authFileFromSecret("team-a", "builder") }));
    expect(push.code, push.stderr).toBe(0);
    expect(registry.storedRepositories()).toContain("team-a/app");
    const isGrant = (r: { provider?: string; granted?: readonly string[] }) => r.provider === "cluster" && r.granted?.includes("repository:team-a/app:push") === true;
    const grant = (await tokenServer.tokenRequestsWhen((lines) => lines.some(isGrant))).find(isGrant);
    expect(grant?.subject).toContain("system:serviceaccount:team-a:builder");
  });

  it("let another team-a ServiceAccount pull it with skopeo, and not push", async () => {
    const authFile = authFileFromSecret("team-a", "app");
    const inspect = await timings.measure("skopeo inspect with app's secret", () => skopeoInspect(ref("team-a/app:v1"), { authFile }));
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(inspect.digest).toBe(image.manifest.digest);
    const dir = join(work, "pulled");
    const pull = await timings.measure("skopeo pull with app's secret", () => skopeoCopy(ref("team-a/app:v1"), `oci:${dir}:pulled`, { authFile }));
    expect(pull.code, pull.stderr).toBe(0);
    const push = await skopeoCopy(image.reference, ref("team-a/other:v1"), { authFile });
    expect(push.code).not.toBe(0);
    expect(registry.storedRepositories()).not.toContain("team-a/other");
  });

  it("refuse a ServiceAccount of a namespace the policy does not allow", async () => {
    const inspect = await skopeoInspect(ref("team-a/app:v1"), { authFile: authFileFromSecret("team-b", "app") });
    expect(inspect.code).not.toBe(0);
    expect(inspect.stderr).toMatch(/unauthorized|denied|authentication required/i);
    const isTeamB = (r: { subject?: string }) => r.subject?.includes("system:serviceaccount:team-b:app") === true;
    const refused = (await tokenServer.tokenRequestsWhen((lines) => lines.some((r) => isTeamB(r) && r.refused?.includes("repository:team-a/app:pull") === true))).filter(isTeamB);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((r) => (r.granted ?? []).length === 0)).toBe(true);
    expect(refused.some((r) => r.refused?.includes("repository:team-a/app:pull"))).toBe(true);
  });
});

describe("the kubelet credential provider", () => {
  /** What the kubelet does: a token for the pod's ServiceAccount with the configured audience, then the plugin. */
  async function provide(namespace: string, sa: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const res = await fetch(`${cluster.url}/api/v1/namespaces/${namespace}/serviceaccounts/${sa}/token`, {
      method: "POST",
      headers: { Authorization: `Bearer ${cluster.adminToken}`, "Content-Type": "application/json" },
      body: JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { audiences: [`https://${registry.host}`], expirationSeconds: 600 } }),
    });
    const token = ((await res.json()) as { status: { token: string } }).status.token;
    const request = JSON.stringify({
      apiVersion: "credentialprovider.kubelet.k8s.io/v1",
      kind: "CredentialProviderRequest",
      image: `${registry.host}/team-a/app:v1`,
      serviceAccountToken: token,
      serviceAccountAnnotations: {},
    });
    return new Promise((resolve, reject) => {
      const child = spawn("npm", ["run", "-s", "credential-provider", "--", "--registry", registry.host, "--username", "cluster-jwks"], { cwd: REPO_ROOT, stdio: ["pipe", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, stdout, stderr }));
      child.stdin.end(request);
    });
  }

  it("answers with credentials skopeo pulls with (keys from the inline JWKS provider)", async () => {
    const result = await timings.measure("credential provider (npm run -s)", () => provide("team-a", "app"));
    expect(result.code, result.stderr).toBe(0);
    const response = JSON.parse(result.stdout) as { auth: Record<string, { username: string; password: string }> };
    const credential = response.auth[registry.host];
    expect(credential?.username).toBe("cluster-jwks");
    const config = createDockerConfig({ [registry.host]: credential as { username: string; password: string } });
    cleanups.push(() => config.cleanup());
    const inspect = await timings.measure("skopeo inspect with provider credentials", () => skopeoInspect(ref("team-a/app:v1"), { authFile: config.path }));
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(inspect.digest).toBe(image.manifest.digest);
    const pulled = (r: { provider?: string; granted?: readonly string[] }) => r.provider === "cluster-jwks" && r.granted?.includes("repository:team-a/app:pull") === true;
    expect((await tokenServer.tokenRequestsWhen((lines) => lines.some(pulled))).some(pulled)).toBe(true);
  });

  it("gives a team-b pod credentials the token server refuses", async () => {
    const result = await provide("team-b", "app");
    expect(result.code, result.stderr).toBe(0);
    const credential = (JSON.parse(result.stdout) as { auth: Record<string, { username: string; password: string }> }).auth[registry.host];
    const config = createDockerConfig({ [registry.host]: credential as { username: string; password: string } });
    cleanups.push(() => config.cleanup());
    const inspect = await skopeoInspect(ref("team-a/app:v1"), { authFile: config.path });
    expect(inspect.code).not.toBe(0);
  });
});
