import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { KubeConfig } from "@kubernetes/client-node";
import { LEASES } from "@jwt-registry-auth/testkit/kube-apiserver/index";
import type { LeaderElectionConfig } from "./config.ts";
import { KubeClient } from "./kube-client.ts";
import { LeaderElector } from "./leader-election.ts";
import { eventually, memoryLogger, standInCluster, type StandInCluster } from "./test-support.ts";

let cluster: StandInCluster;
const electors: LeaderElector[] = [];

const config = (identity: string): LeaderElectionConfig => ({
  enabled: true,
  namespace: "default",
  name: "controller-lease",
  identity,
  leaseDurationMs: 1000,
  renewDeadlineMs: 600,
  retryPeriodMs: 100,
});

/** Each replica authenticates as its own user, so failures can be injected for one of them. */
async function elector(identity: string, timeline: string[]): Promise<LeaderElector> {
  cluster.api.addUser(`${identity}-token`, `replica-${identity}`);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(cluster.api.kubeconfig(`${identity}-token`));
  const e = new LeaderElector(
    new KubeClient(kubeConfig),
    config(identity),
    { onStartedLeading: () => timeline.push(`${identity} started`), onStoppedLeading: () => void timeline.push(`${identity} stopped`) },
    memoryLogger(),
  );
  electors.push(e);
  e.start();
  return e;
}

beforeEach(async () => {
  cluster = await standInCluster();
});

afterEach(async () => {
  await Promise.all(electors.splice(0).map((e) => e.stop()));
  await cluster.close();
});

describe("LeaderElector against the stand-in apiserver", () => {
  it("lets exactly one replica lead while the leader keeps renewing", async () => {
    const timeline: string[] = [];
    const a = await elector("a", timeline);
    await eventually(() => a.isLeader(), 5000, "a leads");
    const b = await elector("b", timeline);
    await new Promise((r) => setTimeout(r, 1800)); // well past a lease duration
    expect(a.isLeader()).toBe(true);
    expect(b.isLeader()).toBe(false);
    expect(timeline).toEqual(["a started"]);
    const lease = cluster.api.store.get(LEASES, "default", "controller-lease");
    expect(lease["spec"]).toMatchObject({ holderIdentity: "a", leaseDurationSeconds: 1, leaseTransitions: 0 });
    expect((lease["spec"] as { renewTime: string }).renewTime).toMatch(/\.\d{6}Z$/);
  });

  it("hands over at once when the leader releases the Lease on shutdown", async () => {
    const timeline: string[] = [];
    const a = await elector("a", timeline);
    await eventually(() => a.isLeader(), 5000, "a leads");
    const b = await elector("b", timeline);
    await new Promise((r) => setTimeout(r, 300));
    const stoppedAt = Date.now();
    await a.stop();
    await eventually(() => b.isLeader(), 5000, "b leads");
    expect(Date.now() - stoppedAt).toBeLessThan(900); // sooner than the lease duration
    expect(timeline).toEqual(["a started", "a stopped", "b started"]);
    expect(cluster.api.store.get(LEASES, "default", "controller-lease")["spec"]).toMatchObject({ holderIdentity: "b", leaseTransitions: 1 });
  });

  it("steps down when it cannot renew, before another replica may take over", async () => {
    const timeline: string[] = [];
    const times: Record<string, number> = {};
    const a = await elector("a", timeline);
    await eventually(() => a.isLeader(), 5000, "a leads");
    const b = await elector("b", timeline);
    await new Promise((r) => setTimeout(r, 200));
    cluster.api.failNext({ user: "replica-a", verb: "update", resource: "leases" }, 500, 1000);
    await eventually(() => {
      if (!a.isLeader() && times["a"] === undefined) times["a"] = Date.now();
      if (b.isLeader() && times["b"] === undefined) times["b"] = Date.now();
      return times["a"] !== undefined && times["b"] !== undefined;
    }, 8000, "handover");
    expect(timeline.slice(0, 2)).toEqual(["a started", "a stopped"]);
    expect(timeline).toContain("b started");
    expect(times["b"] as number).toBeGreaterThan(times["a"] as number);
  });
});
