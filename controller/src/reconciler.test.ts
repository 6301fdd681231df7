/**
 * The reconcile logic against an in-process ClusterApi over the stand-in's
 * object store (real 404/409/422 semantics, no HTTP), with a fake clock and
 * a token counter instead of TokenRequest signing.
 */
import { beforeEach, describe, expect, it } from "vitest";
import type { V1Secret, V1ServiceAccount } from "@kubernetes/client-node";
import { applyMergePatch, NAMESPACES, ObjectStore, SECRETS, SERVICE_ACCOUNTS, StatusError, type KubeObject } from "@jwt-registry-auth/testkit/kube-apiserver/index";
import { REGISTRIES_ANNOTATION, SECRET_ANNOTATIONS } from "./annotations.ts";
import type { RegistryConfig } from "./config.ts";
import { KubeApiError, type ClusterApi } from "./kube-client.ts";
import { Metrics } from "./metrics.ts";
import { pullSecretName } from "./naming.ts";
import { ForeignSecretError, Reconciler } from "./reconciler.ts";
import { memoryLogger } from "./test-support.ts";

const HOUR = 3_600_000;
const regA: RegistryConfig = { host: "a.example", provider: "cluster", audience: "https://a.example", durationSeconds: 3600 };
const regB: RegistryConfig = { host: "b.example:5000", provider: "cluster", audience: "https://b.example:5000", durationSeconds: 3600 };

/** The store holds wire JSON (timestamps as strings); client-node's types say Date. The fields used here are the same. */
const kube = (obj: unknown): KubeObject => obj as KubeObject;
const typed = <T,>(obj: unknown): T => obj as T;

let store: ObjectStore;
let clock: number;
let tokens: number;
let beforePatch: (() => void) | undefined;

/** Store errors become what KubeClient throws. */
function translate<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof StatusError) throw new KubeApiError(error.code, error.reason, error.message);
    throw error;
  }
}

const fakeApi = (): ClusterApi => ({
  getSecret: async (ns, name) => typed<V1Secret | undefined>(store.find(SECRETS, ns, name)),
  createSecret: async (ns, secret) => typed<V1Secret>(translate(() => store.create(SECRETS, ns, kube(secret)))),
  replaceSecret: async (ns, name, secret) => typed<V1Secret>(translate(() => store.update(SECRETS, ns, name, kube(secret)))),
  deleteSecret: async (ns, name, pre) => {
    if (store.find(SECRETS, ns, name)) translate(() => store.delete(SECRETS, ns, name, pre));
  },
  requestToken: async (ns, name, audiences, seconds) => {
    translate(() => store.get(SERVICE_ACCOUNTS, ns, name));
    tokens++;
    return { token: `token-${tokens}-${audiences.join(",")}`, expiresAtMs: clock + seconds * 1000 };
  },
  getServiceAccount: async (ns, name) => typed<V1ServiceAccount | undefined>(store.find(SERVICE_ACCOUNTS, ns, name)),
  patchServiceAccount: async (ns, name, patch) => {
    beforePatch?.();
    beforePatch = undefined;
    return typed<V1ServiceAccount>(translate(() => store.update(SERVICE_ACCOUNTS, ns, name, kube(applyMergePatch(store.get(SERVICE_ACCOUNTS, ns, name), patch)))));
  },
});

let metrics: Metrics;
let reconciler: Reconciler;

const sa = (): V1ServiceAccount => typed(store.get(SERVICE_ACCOUNTS, "team-a", "app"));
const secret = (host: string): V1Secret | undefined => typed(store.find(SECRETS, "team-a", pullSecretName("app", host)));
const password = (s: V1Secret | undefined, host: string): string => JSON.parse(Buffer.from(s?.data?.[".dockerconfigjson"] as string, "base64").toString()).auths[host].password;

beforeEach(() => {
  store = new ObjectStore({ defaultServiceAccounts: false });
  store.create(NAMESPACES, undefined, { metadata: { name: "team-a" } } as KubeObject);
  store.create(SERVICE_ACCOUNTS, "team-a", { metadata: { name: "app", annotations: { [REGISTRIES_ANNOTATION]: "a.example" } }, imagePullSecrets: [{ name: "theirs" }] } as unknown as KubeObject);
  clock = Date.UTC(2026, 0, 1);
  tokens = 0;
  beforePatch = undefined;
  metrics = new Metrics();
  reconciler = new Reconciler({ api: fakeApi(), registries: [regA, regB], log: memoryLogger(), metrics, now: () => clock, random: () => 0.5 });
});

describe("Reconciler", () => {
  it("creates the pull Secret, attaches it after foreign entries, and schedules rotation at a third of the lifetime", async () => {
    const outcome = await reconciler.reconcile(sa(), [regA]);
    expect(outcome.nextRotationAtMs).toBe(clock + HOUR / 3);
    const written = secret("a.example");
    expect(password(written, "a.example")).toBe("token-1-https://a.example");
    expect(written?.metadata?.ownerReferences).toEqual([{ apiVersion: "v1", kind: "ServiceAccount", name: "app", uid: sa().metadata?.uid }]);
    expect(sa().imagePullSecrets).toEqual([{ name: "theirs" }, { name: "app-registry-a.example" }]);
    expect(sa().secrets).toEqual([{ name: "app-registry-a.example" }]);
    expect(metrics.get("jwt_registry_auth_tokens_issued_total", { registry: "a.example" })).toBe(1);
  });

  it("does nothing before the rotation time, taking the schedule from the Secret, then rotates in place", async () => {
    const first = await reconciler.reconcile(sa(), [regA]);
    const rv = secret("a.example")?.metadata?.resourceVersion;
    // A new Reconciler (a restarted controller) has no memory of the first.
    const restarted = new Reconciler({ api: fakeApi(), registries: [regA, regB], log: memoryLogger(), metrics, now: () => clock, random: () => 0.9 });
    clock += 10 * 60_000;
    expect(await restarted.reconcile(sa(), [regA])).toEqual(first);
    expect(tokens).toBe(1);
    expect(secret("a.example")?.metadata?.resourceVersion).toBe(rv);
    clock = first.nextRotationAtMs as number;
    const second = await restarted.reconcile(sa(), [regA]);
    expect(tokens).toBe(2);
    expect(password(secret("a.example"), "a.example")).toBe("token-2-https://a.example");
    expect(second.nextRotationAtMs).toBeGreaterThan(clock);
    expect(sa().imagePullSecrets).toEqual([{ name: "theirs" }, { name: "app-registry-a.example" }]);
  });

  it("serves several registries and reports the earliest rotation", async () => {
    let r = 0.9;
    reconciler = new Reconciler({ api: fakeApi(), registries: [regA, regB], log: memoryLogger(), metrics, now: () => clock, random: () => (r = r === 0.9 ? 0 : 0.9) });
    const outcome = await reconciler.reconcile(sa(), [regA, regB]);
    expect(secret("a.example")).toBeDefined();
    expect(secret("b.example:5000")?.metadata?.name).toBe("app-registry-b.example-5000");
    expect(outcome.nextRotationAtMs).toBe(clock + HOUR / 4);
    expect(sa().imagePullSecrets?.map((s) => s.name)).toEqual(["theirs", "app-registry-a.example", "app-registry-b.example-5000"]);
  });

  it("keeps an entry added concurrently: the stale patch gets 409, is recomputed and retried", async () => {
    beforePatch = () => {
      const current = sa();
      store.update(SERVICE_ACCOUNTS, "team-a", "app", { ...kube(current), imagePullSecrets: [...(current.imagePullSecrets ?? []), { name: "added-meanwhile" }] });
    };
    await reconciler.reconcile(sa(), [regA]);
    expect(sa().imagePullSecrets).toEqual([{ name: "theirs" }, { name: "added-meanwhile" }, { name: "app-registry-a.example" }]);
  });

  it("on opt-out, detaches and deletes only its own Secret", async () => {
    await reconciler.reconcile(sa(), [regA, regB]);
    // Someone else's Secret that happens to have the name we would use for b, referenced by the ServiceAccount.
    store.delete(SECRETS, "team-a", "app-registry-b.example-5000");
    store.create(SECRETS, "team-a", { metadata: { name: "app-registry-b.example-5000" }, stringData: { x: "y" } } as unknown as KubeObject);
    await reconciler.reconcile(sa(), []);
    expect(secret("a.example")).toBeUndefined();
    expect(secret("b.example:5000")).toBeDefined();
    expect(sa().imagePullSecrets?.map((s) => s.name)).toEqual(["theirs", "app-registry-b.example-5000"]);
    expect(metrics.get("jwt_registry_auth_pull_secrets_deleted_total", { registry: "a.example" })).toBe(1);
  });

  it("refuses to overwrite a foreign Secret with its name, and still serves the other registries", async () => {
    store.create(SECRETS, "team-a", { metadata: { name: "app-registry-a.example" }, stringData: { mine: "yes" } } as unknown as KubeObject);
    await expect(reconciler.reconcile(sa(), [regA, regB])).rejects.toBeInstanceOf(ForeignSecretError);
    expect(secret("a.example")?.data).toEqual({ mine: Buffer.from("yes").toString("base64") });
    expect(secret("b.example:5000")).toBeDefined();
    expect(sa().imagePullSecrets?.map((s) => s.name)).toEqual(["theirs", "app-registry-b.example-5000"]);
  });

  it("reissues when the Secret was tampered with or the ServiceAccount was recreated", async () => {
    await reconciler.reconcile(sa(), [regA]);
    const s = secret("a.example") as V1Secret; // just written above
    store.update(SECRETS, "team-a", s.metadata?.name as string, { ...kube(s), data: { ".dockerconfigjson": Buffer.from("{}").toString("base64") } });
    await reconciler.reconcile(sa(), [regA]);
    expect(tokens).toBe(2);
    store.delete(SERVICE_ACCOUNTS, "team-a", "app");
    store.create(SERVICE_ACCOUNTS, "team-a", { metadata: { name: "app" } } as KubeObject);
    store.create(SECRETS, "team-a", kube({ ...s, metadata: { ...s.metadata, resourceVersion: "" } }));
    await reconciler.reconcile(sa(), [regA]);
    expect(tokens).toBe(3);
    expect(secret("a.example")?.metadata?.ownerReferences?.[0]?.uid).toBe(sa().metadata?.uid);
    expect(secret("a.example")?.metadata?.annotations?.[SECRET_ANNOTATIONS.serviceAccount]).toBe("app");
  });

  it("gives up after repeated conflicts so the queue backs off", async () => {
    const api = fakeApi();
    const conflicted: ClusterApi = { ...api, patchServiceAccount: async () => Promise.reject(new KubeApiError(409, "Conflict", "modified")) };
    reconciler = new Reconciler({ api: conflicted, registries: [regA], log: memoryLogger(), metrics, now: () => clock, maxConflictRetries: 3 });
    await expect(reconciler.reconcile(sa(), [regA])).rejects.toMatchObject({ code: 409 });
  });
});
