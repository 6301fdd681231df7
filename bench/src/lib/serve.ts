/**
 * Serves a bundled Worker straight from workerd: Miniflare in this process
 * starts workerd, and the benchmarks hit a socket workerd opens for the Worker
 * itself (`unsafeDirectSockets`). Neither `wrangler dev`'s proxy nor
 * Miniflare's entry worker sits in front, so a no-op request costs what the
 * runtime costs, and the measured CPU and latency are the Worker's and
 * workerd's. (Miniflare's own port, through its entry worker, added ~160 µs of
 * CPU per request.)
 */
import { dirname } from "node:path";
import { Miniflare } from "miniflare";
import { freePort } from "@jwt-registry-auth/testkit/ports";
import { childrenNamed } from "./proc.ts";

export const SERVING_PATH = "workerd's own socket for the Worker (Miniflare unsafeDirectSockets; no entry worker, no wrangler dev proxy)";

export interface ServeOptions {
  readonly scriptPath?: string;
  /** Inline module source instead of a bundle (the baseline for start-up costs). */
  readonly script?: string;
  readonly compatibilityDate: string;
  readonly bindings?: Readonly<Record<string, string>>;
  readonly kvNamespaces?: readonly string[];
  /** Binding → database id (the id wrangler's local state is keyed by). */
  readonly d1Databases?: Readonly<Record<string, string>>;
  /** Miniflare persist directories (e.g. `<wrangler --persist-to>/v3/d1`); absent = in memory. */
  readonly kvPersist?: string;
  readonly d1Persist?: string;
  /** Open workerd's inspector (Chrome DevTools Protocol) for {@link ServedWorker.inspectorUrl}. Off by default: an attached inspector changes what console.log costs. */
  readonly inspector?: boolean;
}

export interface ServedWorker {
  /** `http://127.0.0.1:PORT`: the Worker's own workerd socket. */
  readonly url: string;
  /** The workerd process serving it (for /proc CPU and RSS). */
  readonly workerdPid: number;
  readonly miniflare: Miniflare;
  /** The Worker's DevTools WebSocket (`ws://…/bench`), when served with `inspector: true`. */
  readonly inspectorUrl?: string;
  /** Lines the Worker logged to stdout/stderr so far (counted, not kept: the token server logs one per request). */
  logLines(): number;
  /** The last lines logged, for error reports. */
  recentLogs(): string[];
  stop(): Promise<void>;
}

const RECENT_LOG_LINES = 20;

export async function serveWorker(options: ServeOptions): Promise<ServedWorker> {
  const before = new Set(childrenNamed(process.pid, "workerd"));
  let lines = 0;
  const recent: string[] = [];
  const collect = (chunk: Buffer | string): void => {
    for (const line of chunk.toString().split("\n")) {
      if (line === "") continue;
      lines++;
      recent.push(line);
      if (recent.length > RECENT_LOG_LINES) recent.shift();
    }
  };
  const [port, directPort] = [await freePort(), await freePort()];
  const worker = {
    name: "bench",
    unsafeDirectSockets: [{ host: "127.0.0.1", port: directPort }],
    modules: true,
    compatibilityDate: options.compatibilityDate,
    // Module names are paths relative to modulesRoot; workerd refuses `..` in them.
    ...(options.scriptPath !== undefined ? { scriptPath: options.scriptPath, modulesRoot: dirname(options.scriptPath) } : { script: options.script ?? "" }),
    bindings: { ...options.bindings },
    kvNamespaces: [...(options.kvNamespaces ?? [])],
    d1Databases: { ...options.d1Databases },
    // Miniflare proxies a Worker's inspector only when the Worker asks for it.
    ...(options.inspector === true && { unsafeInspectorProxy: true }),
  };
  const miniflare = new Miniflare({
    host: "127.0.0.1",
    port,
    ...(options.kvPersist !== undefined && { kvPersist: options.kvPersist }),
    ...(options.d1Persist !== undefined && { d1Persist: options.d1Persist }),
    // Miniflare's entry worker would otherwise report every request to Node over loopback: ~1 ms per request.
    logRequests: false,
    ...(options.inspector === true && { inspectorPort: await freePort() }),
    handleRuntimeStdio(stdout, stderr) {
      stdout.on("data", collect);
      stderr.on("data", collect);
    },
    workers: [worker],
  });
  let url: string;
  let inspectorUrl: string | undefined;
  try {
    await miniflare.ready;
    url = (await miniflare.unsafeGetDirectURL("bench")).origin;
    // Miniflare's inspector proxy serves each Worker at /<worker name>.
    if (options.inspector === true) inspectorUrl = new URL(worker.name, await miniflare.getInspectorURL()).href;
  } catch (error) {
    await miniflare.dispose().catch(() => undefined);
    throw new Error(`workerd did not start: ${error instanceof Error ? error.message : String(error)}\n${recent.join("\n")}`);
  }
  const started = childrenNamed(process.pid, "workerd").filter((pid) => !before.has(pid));
  if (started.length !== 1) {
    await miniflare.dispose();
    throw new Error(`expected one new workerd process, found ${started.length}`);
  }
  let stopped: Promise<void> | undefined;
  return {
    url,
    workerdPid: started[0] as number,
    miniflare,
    ...(inspectorUrl !== undefined && { inspectorUrl }),
    logLines: () => lines,
    recentLogs: () => [...recent],
    // Idempotent: a stack stops every Worker it served, including ones a benchmark already stopped.
    stop: () => (stopped ??= miniflare.dispose()),
  };
}
