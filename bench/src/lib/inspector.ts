/**
 * A Chrome DevTools Protocol client for a Worker running in workerd, through
 * Miniflare's inspector proxy (serve.ts `inspector: true`). It reads the
 * isolate's V8 heap from inside workerd, which /proc RSS can't: RSS also counts
 * workerd's own allocations and the local D1/KV simulators in the same process.
 */
import { WebSocket } from "undici";

/** A command workerd doesn't answer within this fails instead of hanging the benchmark. */
const REPLY_TIMEOUT_MS = 60_000;

export interface Inspector {
  send<T = unknown>(method: string, params?: Record<string, unknown>): Promise<T>;
  close(): void;
}

interface Reply {
  readonly id?: number;
  readonly result?: unknown;
  readonly error?: { readonly message: string };
}

/** Connects to a DevTools WebSocket URL (ServedWorker.inspectorUrl). */
export async function connectInspector(url: string): Promise<Inspector> {
  // Miniflare's proxy refuses an upgrade that has a User-Agent but no allowed Origin.
  const ws = new WebSocket(url, { headers: { Origin: "http://localhost" } });
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve(), { once: true });
    ws.addEventListener("error", () => reject(new Error(`inspector at ${url} did not accept the connection`)), { once: true });
  });
  let nextId = 1;
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void; method: string }>();
  ws.addEventListener("message", (event) => {
    const reply = JSON.parse(String(event.data)) as Reply;
    // Messages without an id are events (console output, script parsed); nothing here asks for them.
    if (reply.id === undefined) return;
    const waiter = pending.get(reply.id);
    if (waiter === undefined) return;
    pending.delete(reply.id);
    if (reply.error !== undefined) waiter.reject(new Error(`${waiter.method}: ${reply.error.message}`));
    else waiter.resolve(reply.result);
  });
  ws.addEventListener("close", () => {
    for (const waiter of pending.values()) waiter.reject(new Error(`${waiter.method}: inspector connection closed`));
    pending.clear();
  });
  return {
    send<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${method}: no reply from the inspector in ${REPLY_TIMEOUT_MS / 1000} s`));
        }, REPLY_TIMEOUT_MS);
        const settle = <V>(f: (v: V) => void) => (v: V): void => {
          clearTimeout(timer);
          f(v);
        };
        pending.set(id, { resolve: settle((value) => resolve(value as T)), reject: settle(reject), method });
        ws.send(JSON.stringify({ id, method, params }));
      });
    },
    close: () => ws.close(),
  };
}

export interface HeapUsage {
  /** V8's `usedSize`: bytes held by objects on the JS heap, live or garbage not yet collected. */
  readonly usedBytes: number;
  /** V8's `totalSize`: bytes V8 has reserved for the JS heap (what it could fill before growing). */
  readonly totalBytes: number;
}

export async function heapUsage(inspector: Inspector): Promise<HeapUsage> {
  const { usedSize, totalSize } = await inspector.send<{ usedSize: number; totalSize: number }>("Runtime.getHeapUsage");
  return { usedBytes: usedSize, totalBytes: totalSize };
}

/**
 * The live heap: a heap snapshot first, then the usage. V8 runs a full GC
 * before it snapshots, so `usedBytes` then counts only what is reachable.
 * (workerd never answers `HeapProfiler.collectGarbage`; the snapshot's chunks
 * arrive as events, which `send` ignores.)
 */
export async function heapAfterGc(inspector: Inspector): Promise<HeapUsage> {
  await inspector.send("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
  return heapUsage(inspector);
}

/** A heap-usage reading every `intervalMs`, kept with its time since `sample` started; `stop()` ends the series and returns it. */
export function sampleHeap(inspector: Inspector, intervalMs: number, extra: () => Record<string, number> = () => ({})): { stop(): Promise<HeapSample[]> } {
  const started = performance.now();
  const samples: HeapSample[] = [];
  let inFlight: Promise<void> = Promise.resolve();
  const read = (): void => {
    inFlight = heapUsage(inspector).then(
      (usage) => void samples.push({ seconds: (performance.now() - started) / 1000, ...usage, ...extra() }),
      () => undefined,
    );
  };
  const timer = setInterval(read, intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await inFlight;
      return samples;
    },
  };
}

export interface HeapSample extends HeapUsage {
  readonly seconds: number;
  readonly [key: string]: number;
}
