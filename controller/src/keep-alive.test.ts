import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CoreV1Api } from "@kubernetes/client-node";
import { keepAliveApiClient } from "./keep-alive.ts";
import { standInCluster, type StandInCluster } from "./test-support.ts";

let cluster: StandInCluster;
beforeAll(async () => {
  cluster = await standInCluster();
});
afterAll(() => cluster.close());

describe("keepAliveApiClient", () => {
  it("sends many requests over a few connections, authenticated by the kubeconfig", async () => {
    const api = keepAliveApiClient(cluster.kubeConfig, CoreV1Api);
    const before = cluster.api.connections();
    for (let i = 0; i < 20; i++) expect((await api.readNamespace({ name: "default" })).metadata?.name).toBe("default");
    expect(cluster.api.connections() - before).toBeLessThanOrEqual(2);
    expect(cluster.api.requests.slice(-20).every((r) => r.user === "kubernetes-admin" && r.status === 200)).toBe(true);
  });

  it("where client-node alone opens one connection per request", async () => {
    const api = cluster.kubeConfig.makeApiClient(CoreV1Api);
    const before = cluster.api.connections();
    for (let i = 0; i < 5; i++) await api.readNamespace({ name: "default" });
    expect(cluster.api.connections() - before).toBe(5);
  });
});
