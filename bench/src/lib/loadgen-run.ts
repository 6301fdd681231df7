/**
 * The closed-loop load generator's core: N keep-alive connections, each sending
 * its next request as soon as the previous response has ended, until the
 * deadline. Every latency is kept (µs, from the write to the end of the
 * response), so percentiles are exact. Runs in its own process (loadgen-child.ts)
 * so its event loop shares nothing with Miniflare's.
 */
import { connect, type Socket } from "node:net";
import { buildRequest, ResponseParser } from "./http1.ts";

export interface LoadConfig {
  readonly url: string;
  readonly connections: number;
  readonly durationSeconds: number;
  readonly method?: "GET" | "HEAD";
  readonly headers?: Readonly<Record<string, string>>;
  /** A request slower than this fails (counted under errors.timeout) and its connection is replaced. */
  readonly timeoutMs?: number;
}

export interface RawLoadResult {
  readonly connections: number;
  readonly requests: number;
  readonly durationS: number;
  /** Latency of every completed request, µs. */
  readonly latenciesUs: Float64Array;
  readonly statuses: Readonly<Record<string, number>>;
  readonly errors: { readonly connect: number; readonly socket: number; readonly timeout: number; readonly parse: number };
  /** Responses completed in each whole second of the run. */
  readonly perSecond: readonly number[];
  /** This generator's own CPU time, seconds. */
  readonly generatorCpuS: number;
}

class Samples {
  private data = new Float64Array(1 << 16);
  length = 0;
  push(value: number): void {
    if (this.length === this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = value;
  }
  values(): Float64Array {
    return this.data.slice(0, this.length);
  }
}

export async function runLoad(config: LoadConfig): Promise<RawLoadResult> {
  const url = new URL(config.url);
  const method = config.method ?? "GET";
  const request = buildRequest(method, url, config.headers);
  const port = Number(url.port || 80);
  const timeoutMs = config.timeoutMs ?? 10_000;
  const samples = new Samples();
  const statuses: Record<string, number> = {};
  const errors = { connect: 0, socket: 0, timeout: 0, parse: 0 };
  const perSecond: number[] = [];
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const deadline = start + config.durationSeconds * 1000;

  const connection = (): Promise<void> =>
    new Promise((resolve) => {
      let socket: Socket;
      let parser: ResponseParser;
      let sentAt = 0;
      let inFlight = false;
      let timer: NodeJS.Timeout | undefined;

      const open = (): void => {
        parser = new ResponseParser(method === "HEAD");
        let connected = false;
        socket = connect({ host: url.hostname, port, noDelay: true });
        socket.on("connect", () => {
          connected = true;
          send();
        });
        socket.on("data", onData);
        socket.on("error", () => {
          if (connected) errors.socket++;
          else errors.connect++;
        });
        socket.on("close", () => {
          clearTimeout(timer);
          if (performance.now() >= deadline) return resolve();
          if (inFlight) errors.socket++;
          inFlight = false;
          // Back off a little after a refused connection, so a dead server doesn't become a busy loop.
          setTimeout(open, connected ? 0 : 50);
        });
      };
      const send = (): void => {
        if (performance.now() >= deadline) {
          socket.end();
          return;
        }
        inFlight = true;
        sentAt = performance.now();
        timer = setTimeout(() => {
          errors.timeout++;
          inFlight = false;
          socket.destroy();
        }, timeoutMs);
        socket.write(request);
      };
      const onData = (chunk: Buffer): void => {
        let responses;
        try {
          responses = parser.feed(chunk);
        } catch {
          errors.parse++;
          inFlight = false;
          socket.destroy();
          return;
        }
        for (const response of responses) {
          const now = performance.now();
          clearTimeout(timer);
          inFlight = false;
          samples.push((now - sentAt) * 1000);
          statuses[response.status] = (statuses[response.status] ?? 0) + 1;
          const second = Math.floor((now - start) / 1000);
          perSecond[second] = (perSecond[second] ?? 0) + 1;
          if (response.close) {
            socket.end();
            return;
          }
          send();
        }
      };
      open();
    });

  await Promise.all(Array.from({ length: config.connections }, connection));
  const durationS = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  return {
    connections: config.connections,
    requests: samples.length,
    durationS,
    latenciesUs: samples.values(),
    statuses,
    errors,
    perSecond: Array.from({ length: perSecond.length }, (_, i) => perSecond[i] ?? 0),
    generatorCpuS: (cpu.user + cpu.system) / 1e6,
  };
}
