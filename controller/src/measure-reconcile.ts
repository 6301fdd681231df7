/**
 * Measures the controller against the stand-in apiserver: the time from
 * starting the controller process until N opted-in ServiceAccounts all have
 * their pull Secret written and attached, and the process's memory.
 *
 *   npx tsx controller/src/measure-reconcile.ts [serviceAccounts=1000] [workers=4] [tsx|bundle]
 *
 * `tsx` runs the bin (TypeScript compiled on the fly, as `npm run controller`);
 * `bundle` runs what build.mjs produces (what the container image ships).
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { NAMESPACES, SECRETS, SERVICE_ACCOUNTS, startKubeApiServer, type KubeObject } from "@jwt-registry-auth/testkit/kube-apiserver/index";
import { REGISTRIES_ANNOTATION } from "./annotations.ts";
import { pullSecretName } from "./naming.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const HOST = "registry.example.com";

export type Entry = "tsx" | "bundle";

export interface ReconcileMeasurement {
  readonly serviceAccounts: number;
  readonly workers: number;
  readonly entry: Entry;
  /** Controller process start → every Secret written and attached. */
  readonly totalMs: number;
  /** Controller's "caches synced" log line → every Secret written and attached. */
  readonly afterSyncMs: number;
  readonly apiRequests: number;
  /** Resident memory after the run, and its peak (VmHWM), in MiB. */
  readonly rssMiB: number;
  readonly peakRssMiB: number;
  /** CPU seconds (user + system) used by the controller process, and by this process (the stand-in apiserver). */
  readonly controllerCpuS: number;
  readonly apiServerCpuS: number;
}

async function memoryMiB(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}

/** utime + stime of a process, from /proc/PID/stat (in clock ticks of 1/100 s on Linux). */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export async function measureReconcile(serviceAccounts: number, workers: number, entry: Entry = "tsx"): Promise<ReconcileMeasurement> {
  const api = await startKubeApiServer({ defaultServiceAccounts: false });
  const dir = await mkdtemp(join(tmpdir(), "measure-reconcile-"));
  if (entry === "bundle") execFileSync(process.execPath, [join(ROOT, "controller/build.mjs"), "--outdir", dir]);
  const script = entry === "bundle" ? join(dir, "controller.mjs") : "controller/bin/controller.js";
  const namespaces = Math.max(1, Math.ceil(serviceAccounts / 100));
  const keys: [string, string][] = [];
  for (let n = 0; n < namespaces; n++) api.store.create(NAMESPACES, undefined, { metadata: { name: `ns-${n}` } } as KubeObject);
  for (let i = 0; i < serviceAccounts; i++) {
    const key: [string, string] = [`ns-${i % namespaces}`, `sa-${i}`];
    api.store.create(SERVICE_ACCOUNTS, key[0], { metadata: { name: key[1], annotations: { [REGISTRIES_ANNOTATION]: HOST } } } as unknown as KubeObject);
    keys.push(key);
  }
  const kubeconfig = await api.writeKubeconfig(join(dir, "kubeconfig"));
  const before = api.requests.length;
  const cpuBefore = process.cpuUsage();
  const started = Date.now();
  const child = spawn(process.execPath, [script, "--kubeconfig", kubeconfig, "--registry", HOST, "--listen", "127.0.0.1:0", "--workers", String(workers), "--leader-elect", "false"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  let syncedAt: number | undefined;
  let output = "";
  child.stdout.on("data", (d: Buffer) => {
    output += d.toString();
    if (syncedAt === undefined && output.includes('"msg":"caches synced; reconciling"')) syncedAt = Date.now();
  });
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
  try {
    const done = ([ns, sa]: [string, string]): boolean => {
      const name = pullSecretName(sa, HOST);
      return api.store.find(SECRETS, ns, name) !== undefined && ((api.store.get(SERVICE_ACCOUNTS, ns, sa)["imagePullSecrets"] as { name: string }[] | undefined) ?? []).some((r) => r.name === name);
    };
    let pending = keys;
    while (pending.length > 0) {
      if (child.exitCode !== null) throw new Error(`controller exited early:\n${output.slice(-2000)}`);
      // Checking costs the stand-in (same process) time; don't starve it.
      await new Promise((r) => setTimeout(r, 250));
      pending = pending.filter((k) => !done(k));
    }
    const finished = Date.now();
    const memory = await memoryMiB(child.pid as number);
    const controllerCpuS = await cpuSeconds(child.pid as number);
    const own = process.cpuUsage(cpuBefore);
    return {
      serviceAccounts,
      workers,
      entry,
      totalMs: finished - started,
      afterSyncMs: finished - (syncedAt ?? started),
      apiRequests: api.requests.length - before,
      rssMiB: Math.round(memory.rss),
      peakRssMiB: Math.round(memory.peak),
      controllerCpuS,
      apiServerCpuS: (own.user + own.system) / 1e6,
    };
  } finally {
    child.kill("SIGTERM");
    await exited;
    await api.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const serviceAccounts = Number(process.argv[2] ?? 1000);
  const workers = Number(process.argv[3] ?? 4);
  const entry = process.argv[4] === "bundle" ? "bundle" : "tsx";
  const m = await measureReconcile(serviceAccounts, workers, entry);
  console.log(`reconcile ${m.serviceAccounts} ServiceAccounts (workers=${m.workers}, ${m.entry}) against the stand-in apiserver:
  process start → all Secrets written and attached  ${(m.totalMs / 1000).toFixed(2)} s
  caches synced → all Secrets written and attached  ${(m.afterSyncMs / 1000).toFixed(2)} s  (${Math.round((m.serviceAccounts * 1000) / m.afterSyncMs)} ServiceAccounts/s)
  API requests                                      ${m.apiRequests}
  controller RSS after / peak                       ${m.rssMiB} MiB / ${m.peakRssMiB} MiB
  CPU: controller / stand-in apiserver              ${m.controllerCpuS.toFixed(1)} s / ${m.apiServerCpuS.toFixed(1)} s`);
}
