/**
 * The controller as a process — its bin (what a container runs) and
 * `npm run controller -- ARGS` (as documented): it finds the cluster through
 * a kubeconfig file, logs JSON to stdout, and on SIGTERM stops, releases its
 * Lease and exits 0.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { LEASES, NAMESPACES, SECRETS, SERVICE_ACCOUNTS, type KubeObject } from "@jwt-registry-auth/testkit/kube-apiserver/index";
import { REGISTRIES_ANNOTATION } from "./annotations.ts";
import { eventually, standInCluster, type StandInCluster } from "./test-support.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
let cluster: StandInCluster;
let child: ChildProcess | undefined;

interface Run {
  readonly lines: Record<string, unknown>[];
  readonly stderr: () => string;
  readonly exit: Promise<number | null>;
}

/** In its own process group, so cleanup reaches every process npm starts. */
function start(args: string[], via: "npm" | "bin"): Run {
  const [command, argv] = via === "npm" ? ["npm", ["run", "-s", "controller", "--", ...args]] : [process.execPath, ["controller/bin/controller.js", ...args]];
  const proc = spawn(command as string, argv as string[], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], detached: true });
  child = proc;
  const lines: Record<string, unknown>[] = [];
  let buffer = "";
  let stderr = "";
  proc.stdout?.on("data", (d: Buffer) => {
    buffer += d.toString();
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      lines.push(JSON.parse(buffer.slice(0, nl)) as Record<string, unknown>);
      buffer = buffer.slice(nl + 1);
    }
  });
  proc.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  return { lines, stderr: () => stderr, exit: new Promise((resolve) => proc.on("close", resolve)) };
}

beforeEach(async () => {
  cluster = await standInCluster();
  cluster.api.store.create(NAMESPACES, undefined, { metadata: { name: "team-a" } } as KubeObject);
  cluster.api.store.create(SERVICE_ACCOUNTS, "team-a", { metadata: { name: "app", annotations: { [REGISTRIES_ANNOTATION]: "registry.test" } } } as unknown as KubeObject);
});

afterEach(async () => {
  if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(-child.pid, "SIGKILL");
  child = undefined;
  await cluster.close();
});

describe("the controller process", () => {
  it("runs against a kubeconfig, serves /readyz, and shuts down cleanly on SIGTERM", async () => {
    const run = start(["--kubeconfig", cluster.kubeconfigPath, "--registry", "registry.test", "--listen", "127.0.0.1:0", "--identity", "proc-1", "--retry-period", "200ms"], "bin");
    const started = await eventually(() => run.lines.find((l) => l["msg"] === "started"), 20_000, "started log line");
    expect(started).toMatchObject({ level: "info", server: cluster.api.url, leaderElection: { lease: "default/jwt-registry-auth-controller", identity: "proc-1" } });
    await eventually(() => cluster.api.store.find(SECRETS, "team-a", "app-registry-registry.test"), 20_000, "pull secret");
    const port = String(started["listen"]).split(":")[1];
    await eventually(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, 10_000, "ready");
    const written = run.lines.find((l) => l["msg"] === "pull secret written");
    expect(written).toMatchObject({ serviceAccount: "team-a/app", registry: "registry.test", reason: "missing" });
    expect(written?.["tokenSha256"]).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(run.lines)).not.toMatch(/eyJ[\w-]+\.eyJ/);

    child?.kill("SIGTERM");
    expect(await run.exit).toBe(0);
    // In this order: reconciling stops (work in flight finishes) while the Lease is still held, then it is released.
    const messages = run.lines.map((l) => l["msg"]);
    const order = ["shutting down", "stopped reconciling", "released the leader Lease", "stopped"].map((m) => messages.indexOf(m));
    expect(order.every((i) => i >= 0), JSON.stringify(messages)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(cluster.api.store.get(LEASES, "default", "jwt-registry-auth-controller")["spec"]).not.toHaveProperty("holderIdentity");
    expect(run.stderr()).toBe("");
  }, 90_000);

  it("exits 2 with one line on stderr for bad flags (npm run controller)", async () => {
    const run = start(["--registry", "https://nope"], "npm");
    expect(await run.exit).toBe(2);
    expect(run.stderr().trim()).toBe('jwt-registry-auth-controller: --registry: "https://nope" is not a registry host[:port]');
    expect(run.lines).toEqual([]);
  }, 60_000);
});
