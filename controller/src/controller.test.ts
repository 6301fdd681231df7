/**
 * The controller, unmodified, against the stand-in apiserver through a
 * kubeconfig, running under exactly the RBAC of deploy/rbac.yaml.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readFile } from "node:fs/promises";
import { KubeConfig, type V1Secret, type V1ServiceAccount } from "@kubernetes/client-node";
import { createLocalJWKSet, jwtVerify } from "jose";
import { parseAllDocuments } from "yaml";
import { LEASES, NAMESPACES, rbacAuthorizer, SECRETS, SERVICE_ACCOUNTS, type KubeObject } from "@jwt-registry-auth/testkit/kube-apiserver/index";
import { REGISTRIES_ANNOTATION, SECRET_ANNOTATIONS } from "./annotations.ts";
import { parseConfig } from "./config.ts";
import { Controller } from "./controller.ts";
import { eventually, memoryLogger, standInCluster, type StandInCluster } from "./test-support.ts";

const HOST = "127.0.0.1:5000";
const SECRET = (sa: string): string => `${sa}-registry-127.0.0.1-5000`;
let cluster: StandInCluster;
const controllers: Controller[] = [];

const kube = (obj: unknown): KubeObject => obj as KubeObject;
const secretOf = (ns: string, sa: string): V1Secret | undefined => cluster.api.store.find(SECRETS, ns, SECRET(sa)) as V1Secret | undefined;
const serviceAccount = (ns: string, name: string): V1ServiceAccount => cluster.api.store.get(SERVICE_ACCOUNTS, ns, name) as unknown as V1ServiceAccount;
const createSa = (ns: string, name: string, annotations?: Record<string, string>, extra: Record<string, unknown> = {}): void => {
  cluster.api.store.create(SERVICE_ACCOUNTS, ns, kube({ metadata: { name, ...(annotations && { annotations }) }, ...extra }));
};
const annotateSa = (ns: string, name: string, annotations: Record<string, string>): void => {
  const current = cluster.api.store.get(SERVICE_ACCOUNTS, ns, name);
  cluster.api.store.update(SERVICE_ACCOUNTS, ns, name, { ...current, metadata: { ...current.metadata, annotations } });
};
const passwordOf = (secret: V1Secret | undefined): string => JSON.parse(Buffer.from(secret?.data?.[".dockerconfigjson"] as string, "base64").toString()).auths[HOST].password;
const tokenRequests = (user?: string) => cluster.api.requests.filter((r) => r.subresource === "token" && (user === undefined || r.user === user));

/** A controller authenticated as the deploy manifests' ServiceAccount, with the deploy RBAC. */
async function startController(identity: string, extraArgs: string[] = []): Promise<Controller> {
  const manifests = parseAllDocuments(await readFile(new URL("../deploy/rbac.yaml", import.meta.url), "utf8")).map((d) => d.toJS() as unknown);
  const rbac = rbacAuthorizer(manifests, { namespace: "jwt-registry-auth", name: "jwt-registry-auth-controller" });
  cluster.api.addUser(`token-${identity}`, `${rbac.user}#${identity}`, rbac.authorize);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(cluster.api.kubeconfig(`token-${identity}`));
  const config = parseConfig(
    [
      "--registry", `${HOST},provider=cluster-a`,
      "--listen", "127.0.0.1:0",
      "--lease-namespace", "jwt-registry-auth",
      "--identity", identity,
      "--lease-duration", "1s", "--renew-deadline", "600ms", "--retry-period", "100ms",
      ...extraArgs,
    ],
    {},
  );
  const controller = new Controller({ config, kubeConfig, log: memoryLogger() });
  controllers.push(controller);
  await controller.start();
  return controller;
}

async function get(controller: Controller, path: string): Promise<{ status: number; text: string; type: string | null }> {
  const res = await fetch(`http://127.0.0.1:${controller.address?.port}${path}`);
  return { status: res.status, text: await res.text(), type: res.headers.get("content-type") };
}

beforeEach(async () => {
  cluster = await standInCluster({ bookmarkIntervalMs: 200 });
  for (const name of ["jwt-registry-auth", "team-a"]) cluster.api.store.create(NAMESPACES, undefined, kube({ metadata: { name } }));
  cluster.api.store.create(NAMESPACES, undefined, kube({ metadata: { name: "team-b", annotations: { [REGISTRIES_ANNOTATION]: HOST } } }));
  createSa("team-a", "app", { [REGISTRIES_ANNOTATION]: HOST }, { imagePullSecrets: [{ name: "theirs" }] });
  createSa("team-b", "builder");
});

afterEach(async () => {
  await Promise.all(controllers.splice(0).map((c) => c.stop()));
  await cluster.close();
});

describe("controller against the stand-in apiserver", () => {
  it("writes a verifiable pull Secret for each opted-in ServiceAccount and attaches it, under the deploy RBAC", async () => {
    const controller = await startController("replica-1");
    await eventually(() => secretOf("team-a", "app") && secretOf("team-b", "builder") && secretOf("team-b", "default"), 10_000, "pull secrets");
    await controller.idle();
    expect(secretOf("team-a", "default")).toBeUndefined();
    expect(serviceAccount("team-a", "app").imagePullSecrets).toEqual([{ name: "theirs" }, { name: SECRET("app") }]);
    expect(serviceAccount("team-a", "app").secrets).toEqual([{ name: SECRET("app") }]);
    expect(serviceAccount("team-b", "builder").imagePullSecrets).toEqual([{ name: SECRET("builder") }]);

    const secret = secretOf("team-a", "app");
    expect(secret?.type).toBe("kubernetes.io/dockerconfigjson");
    const config = JSON.parse(Buffer.from(secret?.data?.[".dockerconfigjson"] as string, "base64").toString());
    expect(config.auths[HOST].username).toBe("cluster-a");
    const { payload } = await jwtVerify(passwordOf(secret), createLocalJWKSet(cluster.api.jwks()), { issuer: cluster.api.issuer, audience: `https://${HOST}` });
    expect(payload).toMatchObject({ sub: "system:serviceaccount:team-a:app", "kubernetes.io": { namespace: "team-a", serviceaccount: { name: "app", uid: serviceAccount("team-a", "app").metadata?.uid } } });
    expect((payload.exp as number) - (payload.iat as number)).toBe(3600);
    expect(cluster.api.requests.filter((r) => r.status === 403)).toEqual([]);
  });

  it("follows opt-in and opt-out, keeping foreign entries, and the garbage collector follows the owner reference", async () => {
    const controller = await startController("replica-1");
    await eventually(() => secretOf("team-a", "app"), 10_000, "first secret");
    createSa("team-a", "late", undefined, { imagePullSecrets: [{ name: "pre-existing" }] });
    await controller.idle();
    expect(secretOf("team-a", "late")).toBeUndefined();
    annotateSa("team-a", "late", { [REGISTRIES_ANNOTATION]: HOST });
    await eventually(() => serviceAccount("team-a", "late").imagePullSecrets?.length === 2, 10_000, "opt-in");
    expect(serviceAccount("team-a", "late").imagePullSecrets).toEqual([{ name: "pre-existing" }, { name: SECRET("late") }]);

    annotateSa("team-a", "late", { [REGISTRIES_ANNOTATION]: "" });
    await eventually(() => secretOf("team-a", "late") === undefined, 10_000, "opt-out removes the secret");
    expect(serviceAccount("team-a", "late").imagePullSecrets).toEqual([{ name: "pre-existing" }]);
    expect(serviceAccount("team-a", "late").secrets).toEqual([]);

    cluster.api.store.delete(SERVICE_ACCOUNTS, "team-a", "app");
    expect(secretOf("team-a", "app")).toBeUndefined();
  });

  it("serves health, readiness and Prometheus metrics", async () => {
    const controller = await startController("replica-1");
    await eventually(() => secretOf("team-b", "builder"), 10_000, "secret");
    await controller.idle();
    expect(await get(controller, "/healthz")).toMatchObject({ status: 200 });
    await eventually(async () => (await get(controller, "/readyz")).status === 200, 5000, "ready");
    const metrics = await get(controller, "/metrics");
    expect(metrics.type).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(metrics.text).toContain(`jwt_registry_auth_tokens_issued_total{registry="${HOST}"} 3`);
    expect(metrics.text).toContain("jwt_registry_auth_leader 1");
    expect(metrics.text).toContain("jwt_registry_auth_managed_service_accounts 3");
    const next = Number(/^jwt_registry_auth_next_rotation_seconds (\S+)$/m.exec(metrics.text)?.[1]);
    expect(next).toBeGreaterThan(3600 / 4 - 60);
    expect(next).toBeLessThanOrEqual((3600 * 5) / 12);
    expect(metrics.text).toMatch(/jwt_registry_auth_reconciles_total\{result="success"\} \d+/);
    expect((await get(controller, "/nope")).status).toBe(404);
  });

  it("after a restart, carries on from the Secrets' annotations instead of issuing new tokens", async () => {
    const first = await startController("replica-1");
    await eventually(() => secretOf("team-b", "default") && secretOf("team-b", "builder") && secretOf("team-a", "app"), 10_000, "secrets");
    await first.idle();
    const versions = ["app", "builder"].map((sa) => secretOf(sa === "app" ? "team-a" : "team-b", sa)?.metadata?.resourceVersion);
    await first.stop();
    const issued = tokenRequests().length;
    const second = await startController("replica-2");
    await eventually(() => second.metrics.get("jwt_registry_auth_reconciles_total", { result: "success" }) >= 3, 10_000, "reconciles after restart");
    await second.idle();
    expect(tokenRequests().length).toBe(issued);
    expect(["app", "builder"].map((sa) => secretOf(sa === "app" ? "team-a" : "team-b", sa)?.metadata?.resourceVersion)).toEqual(versions);
    const rotateAt = Date.parse(secretOf("team-a", "app")?.metadata?.annotations?.[SECRET_ANNOTATIONS.rotateAt] as string);
    const next = Number(/^jwt_registry_auth_next_rotation_seconds (\S+)$/m.exec((await get(second, "/metrics")).text)?.[1]);
    expect(next).toBeLessThanOrEqual((rotateAt - Date.now()) / 1000 + 1);
  });

  it("rotates by the expirationTimestamp the apiserver granted, before the token expires", async () => {
    await cluster.close();
    cluster = await standInCluster({ maxTokenExpirationSeconds: 3 });
    cluster.api.store.create(NAMESPACES, undefined, kube({ metadata: { name: "jwt-registry-auth" } }));
    cluster.api.store.create(NAMESPACES, undefined, kube({ metadata: { name: "team-a" } }));
    createSa("team-a", "app", { [REGISTRIES_ANNOTATION]: HOST });
    await startController("replica-1");
    const hashes = new Set<string>();
    await eventually(() => {
      const s = secretOf("team-a", "app");
      const hash = s?.metadata?.annotations?.[SECRET_ANNOTATIONS.tokenSha256];
      if (hash) hashes.add(hash);
      const expiresAt = Date.parse(s?.metadata?.annotations?.[SECRET_ANNOTATIONS.expiresAt] ?? "");
      // Never serving an expired token while it rotates.
      if (s) expect(expiresAt).toBeGreaterThan(Date.now() - 1000);
      return hashes.size >= 3;
    }, 10_000, "three tokens");
  });

  it("backs off on API errors and gets there", async () => {
    cluster.api.failNext({ verb: "create", resource: "serviceaccounts", subresource: "token" }, 500, 3);
    const controller = await startController("replica-1", ["--namespaces", "team-a"]);
    await eventually(() => secretOf("team-a", "app"), 15_000, "secret after retries");
    expect(controller.metrics.get("jwt_registry_auth_reconcile_errors_total", { code: "500" })).toBe(3);
    expect(controller.metrics.get("jwt_registry_auth_reconciles_total", { result: "error" })).toBe(3);
    expect(secretOf("team-b", "builder")).toBeUndefined();
  });

  it("with two replicas, only the Lease holder writes; the other takes over when it stops", async () => {
    const a = await startController("replica-a");
    await eventually(() => secretOf("team-a", "app"), 10_000, "secret from a");
    const b = await startController("replica-b");
    await a.idle();
    await new Promise((r) => setTimeout(r, 1500));
    const writes = (id: string) => cluster.api.requests.filter((r) => r.user.endsWith(`#${id}`) && r.resource !== "leases" && ["create", "update", "patch", "delete"].includes(r.verb));
    expect(writes("replica-a").length).toBeGreaterThan(0);
    expect(writes("replica-b")).toEqual([]);
    expect(b.ready()).toBe(true);

    await a.stop();
    createSa("team-a", "after-handover", { [REGISTRIES_ANNOTATION]: HOST });
    await eventually(() => secretOf("team-a", "after-handover"), 10_000, "secret from b");
    expect(writes("replica-b").length).toBeGreaterThan(0);
    expect(cluster.api.store.get(LEASES, "jwt-registry-auth", "jwt-registry-auth-controller")["spec"]).toMatchObject({ holderIdentity: "replica-b" });
  });
});
