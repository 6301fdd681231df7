import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { V1ServiceAccount } from "@kubernetes/client-node";
import { SERVICE_ACCOUNTS, NAMESPACES, type KubeObject } from "@jwt-registry-auth/testkit/kube-apiserver/index";
import { Backoff } from "./backoff.ts";
import { KubeClient } from "./kube-client.ts";
import { Reflector } from "./reflector.ts";
import { eventually, memoryLogger, standInCluster, type StandInCluster } from "./test-support.ts";

let cluster: StandInCluster;
let reflector: Reflector<V1ServiceAccount>;
let events: string[];

const sa = (name: string): KubeObject => ({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name } as KubeObject["metadata"] });

beforeEach(async () => {
  cluster = await standInCluster({ bookmarkIntervalMs: 50, defaultServiceAccounts: false });
  cluster.api.store.create(NAMESPACES, undefined, { metadata: { name: "team-a" } } as KubeObject);
  for (const name of ["a", "b", "c", "d", "e"]) cluster.api.store.create(SERVICE_ACCOUNTS, "team-a", sa(name));
  events = [];
  const client = new KubeClient(cluster.kubeConfig);
  reflector = new Reflector<V1ServiceAccount>({
    name: "serviceaccounts",
    path: "/api/v1/serviceaccounts",
    list: (params) => client.listServiceAccounts(undefined, params),
    watch: cluster.watch,
    pageSize: 2,
    backoff: new Backoff({ baseMs: 20, maxMs: 100 }),
    log: memoryLogger(),
    handlers: {
      add: (o) => events.push(`add ${o.metadata?.name}`),
      update: (_old, o) => events.push(`update ${o.metadata?.name}`),
      delete: (o) => events.push(`delete ${o.metadata?.name}`),
    },
  });
});

afterEach(async () => {
  await reflector.stop();
  await cluster.close();
});

const watchRequests = () => cluster.api.requests.filter((r) => r.verb === "watch");
const listRequests = () => cluster.api.requests.filter((r) => r.verb === "list");

describe("Reflector against the stand-in apiserver", () => {
  it("fills its cache from a paged list, then follows the watch", async () => {
    await reflector.start();
    expect(reflector.size).toBe(5);
    expect(listRequests()).toHaveLength(3);
    expect(events).toEqual(["add a", "add b", "add c", "add d", "add e"]);
    await eventually(() => watchRequests().length === 1, 5000, "watch");
    cluster.api.store.create(SERVICE_ACCOUNTS, "team-a", sa("f"));
    const current = cluster.api.store.get(SERVICE_ACCOUNTS, "team-a", "a");
    cluster.api.store.update(SERVICE_ACCOUNTS, "team-a", "a", { ...current, imagePullSecrets: [{ name: "x" }] });
    cluster.api.store.delete(SERVICE_ACCOUNTS, "team-a", "b");
    await eventually(() => events.length === 8, 5000, "events");
    expect(events.slice(5)).toEqual(["add f", "update a", "delete b"]);
    expect(reflector.get("team-a/a")?.imagePullSecrets).toEqual([{ name: "x" }]);
    expect(reflector.get("team-a/b")).toBeUndefined();
  });

  it("resumes a dropped watch from the last resourceVersion without listing again or missing a change", async () => {
    await reflector.start();
    await eventually(() => watchRequests().length === 1, 5000, "watch");
    await new Promise((r) => setTimeout(r, 120)); // a bookmark or two arrive
    cluster.api.closeWatches();
    cluster.api.store.create(SERVICE_ACCOUNTS, "team-a", sa("during-gap"));
    await eventually(() => events.includes("add during-gap"), 5000, "the change made while disconnected");
    expect(watchRequests().length).toBeGreaterThanOrEqual(2);
    expect(reflector.lists).toBe(1);
  });

  it("keeps its resourceVersion current through bookmarks, so a quiet resource survives compaction without a relist", async () => {
    await reflector.start();
    await eventually(() => watchRequests().length === 1, 5000, "watch");
    // Other resources move the global resourceVersion on; ServiceAccounts see no event.
    for (let i = 0; i < 5; i++) cluster.api.store.create(NAMESPACES, undefined, { metadata: { name: `other-${i}` } } as KubeObject);
    await new Promise((r) => setTimeout(r, 200)); // bookmarks carry the new resourceVersion
    cluster.api.compact();
    cluster.api.closeWatches();
    await eventually(() => watchRequests().length >= 2, 5000, "resumed watch");
    await new Promise((r) => setTimeout(r, 200));
    expect(reflector.lists).toBe(1);
    cluster.api.store.create(SERVICE_ACCOUNTS, "team-a", sa("after-compaction"));
    await eventually(() => events.includes("add after-compaction"), 5000, "event after resuming");
  });

  it("lists again after a 410 and reports what changed in between", async () => {
    await reflector.start();
    await eventually(() => watchRequests().length === 1, 5000, "watch");
    cluster.api.closeWatches();
    cluster.api.failNext({ verb: "watch" }, 503, 1);
    cluster.api.store.delete(SERVICE_ACCOUNTS, "team-a", "c");
    cluster.api.store.create(SERVICE_ACCOUNTS, "team-a", sa("g"));
    cluster.api.compact();
    await eventually(() => reflector.lists === 2, 5000, "relist");
    await eventually(() => events.includes("delete c") && events.includes("add g"), 5000, "diffed events");
    expect(reflector.get("team-a/c")).toBeUndefined();
    expect(reflector.size).toBe(5);
  });

  it("backs off and recovers when listing fails", async () => {
    cluster.api.failNext({ verb: "list" }, 500, 3);
    await reflector.start();
    expect(reflector.size).toBe(5);
    expect(listRequests().filter((r) => r.status === 500)).toHaveLength(3);
  });
});
