/**
 * token-throughput: the token endpoint (warm caches, a GitHub-shaped workload
 * JWT, three scopes) beside the floor (verify + sign only) and a no-op, at 1,
 * 16 and 64 connections, all served the same way from one workerd each in the
 * same run; RS256 vs ES256 issuer keys at one connection; and the in-process
 * cost of verify, the policy decision and sign alone.
 */
import type { Benchmark, BenchmarkOutput } from "./lib/benchmark.ts";
import { tokenPathParts, timeOp } from "./lib/in-process.ts";
import type { LatencyUs } from "./lib/latency.ts";
import { generateLoad, type LoadResult } from "./lib/loadgen.ts";
import { fixed, ms, ratio, type Table } from "./lib/table.ts";
import { SERVICE, startTokenStack, type IssuerKind, type TokenStack } from "./lib/token-stack.ts";

export const CONCURRENCY = [1, 16, 64] as const;
/** Endpoints measured at one level take turns in short rounds, so load from elsewhere on the machine hits them alike. */
const ROUNDS = 3;
const SECONDS_PER_ROUND = 1.5;
const WARMUP_SECONDS = 1;

export type Endpoint = "token" | "floor" | "noop";

export interface Point {
  readonly endpoint: Endpoint;
  readonly issuer: IssuerKind;
  readonly connections: number;
  readonly requestsPerSecond: number;
  readonly latencyUs: LatencyUs;
  readonly errorCount: number;
  readonly consistencyRatio: number;
  readonly consistent: boolean;
  readonly requests: number;
}

export interface TokenThroughputData {
  readonly points: readonly Point[];
  readonly inProcessUs: { readonly verify: Record<IssuerKind, number>; readonly decide: number; readonly sign: number };
}

function target(stack: TokenStack, endpoint: Endpoint, issuer: IssuerKind): { url: string; headers: Record<string, string> } {
  switch (endpoint) {
    case "token":
      return { url: stack.tokenUrl(), headers: { Authorization: stack.basic(issuer) } };
    case "floor":
      return { url: stack.floorUrl(), headers: { Authorization: stack.basic(issuer) } };
    case "noop":
      return { url: stack.noopUrl(), headers: {} };
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Each figure the median over the rounds; errors and requests summed; consistent only if every round was. */
export function combineRounds(rounds: readonly Point[]): Point {
  const first = rounds[0];
  if (first === undefined) throw new Error("no rounds to combine");
  const latency = (key: keyof LatencyUs): number => median(rounds.map((r) => r.latencyUs[key]));
  return {
    endpoint: first.endpoint,
    issuer: first.issuer,
    connections: first.connections,
    requestsPerSecond: median(rounds.map((r) => r.requestsPerSecond)),
    latencyUs: { min: latency("min"), mean: latency("mean"), stdev: latency("stdev"), p50: latency("p50"), p90: latency("p90"), p99: latency("p99"), p999: latency("p999"), max: latency("max") },
    errorCount: rounds.reduce((n, r) => n + r.errorCount, 0),
    consistencyRatio: median(rounds.map((r) => r.consistencyRatio)),
    consistent: rounds.every((r) => r.consistent),
    requests: rounds.reduce((n, r) => n + r.requests, 0),
  };
}

async function measureInterleaved(stack: TokenStack, targets: readonly { endpoint: Endpoint; issuer: IssuerKind }[], connections: number): Promise<Point[]> {
  const rounds: Point[][] = targets.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, t] of targets.entries()) rounds[i]?.push(await measurePoint(stack, t.endpoint, t.issuer, connections, SECONDS_PER_ROUND));
  }
  return rounds.map(combineRounds);
}

export async function measurePoint(stack: TokenStack, endpoint: Endpoint, issuer: IssuerKind, connections: number, seconds: number): Promise<Point> {
  const { url, headers } = target(stack, endpoint, issuer);
  const result: LoadResult = await generateLoad({ url, headers, connections, durationSeconds: seconds });
  return {
    endpoint,
    issuer,
    connections,
    requestsPerSecond: result.requestsPerSecond,
    latencyUs: result.latencyUs,
    errorCount: result.errorCount,
    consistencyRatio: result.consistency.ratio,
    consistent: result.consistency.ok,
    requests: result.requests,
  };
}

function row(p: Point, floor: Point | undefined): string[] {
  return [
    p.endpoint,
    String(p.connections),
    fixed(p.requestsPerSecond),
    ms(p.latencyUs.p50),
    ms(p.latencyUs.p99),
    floor === undefined || p.endpoint !== "token" ? "" : `${ratio(p.requestsPerSecond, floor.requestsPerSecond)} / ${ratio(p.latencyUs.p50, floor.latencyUs.p50)}`,
    `${fixed(p.consistencyRatio, 2)}${p.consistent ? "" : " ⚠"}`,
    String(p.errorCount),
  ];
}

async function run(): Promise<BenchmarkOutput> {
  const stack = await startTokenStack();
  try {
    for (const endpoint of ["token", "floor", "noop"] as const) await measurePoint(stack, endpoint, "RS256", 16, WARMUP_SECONDS);
    const points: Point[] = [];
    for (const connections of CONCURRENCY) {
      points.push(...(await measureInterleaved(stack, (["token", "floor", "noop"] as const).map((endpoint) => ({ endpoint, issuer: "RS256" as const })), connections)));
    }
    const algPoints = await measureInterleaved(
      stack,
      (["RS256", "ES256"] as const).flatMap((issuer) => (["token", "floor"] as const).map((endpoint) => ({ endpoint, issuer }))),
      1,
    );

    const kv = (await stack.tokenServer.miniflare.getKVNamespace("JWKS_CACHE")) as unknown as KVNamespace;
    const partsFor = (issuer: IssuerKind) =>
      tokenPathParts({ provider: stack.providerConfigs[issuer], jwt: stack.providers[issuer].jwt, service: SERVICE, access: stack.access, bindings: stack.bindings, kv });
    const rs = await partsFor("RS256");
    const es = await partsFor("ES256");
    const inProcessUs = {
      verify: { RS256: (await timeOp(rs.verify)).usPerOp, ES256: (await timeOp(es.verify)).usPerOp },
      decide: (await timeOp(rs.decide)).usPerOp,
      sign: (await timeOp(rs.sign)).usPerOp,
    };

    const floorIn = (list: readonly Point[], connections: number, issuer: IssuerKind) => list.find((p) => p.endpoint === "floor" && p.connections === connections && p.issuer === issuer);
    const columns = ["endpoint", "conns", "req/s", "p50", "p99", "token÷floor (req/s / p50)", "Little's law", "errors"];
    const tables: Table[] = [
      { title: "token-throughput: token endpoint vs floor vs no-op (RS256 issuer, 3 scopes)", columns, rows: points.map((p) => row(p, floorIn(points, p.connections, "RS256"))) },
      {
        title: "token-throughput: issuer key algorithm, 1 connection",
        columns: ["issuer", ...columns],
        rows: algPoints.map((p) => [p.issuer, ...row(p, floorIn(algPoints, 1, p.issuer))]),
      },
      {
        title: "token-throughput: in-process (Node, the token server's own modules), per call",
        columns: ["part", "µs"],
        rows: [
          ["verify workload JWT (RS256, warm keys)", fixed(inProcessUs.verify.RS256, 1)],
          ["verify workload JWT (ES256, warm keys)", fixed(inProcessUs.verify.ES256, 1)],
          ["authn + 4× authz (CEL, compiled)", fixed(inProcessUs.decide, 1)],
          ["sign registry token (ES256, x5c)", fixed(inProcessUs.sign, 1)],
        ],
      },
    ];
    const inconsistent = [...points, ...algPoints].filter((p) => !p.consistent);
    return {
      tables,
      data: { points: [...points, ...algPoints], inProcessUs } satisfies TokenThroughputData,
      notes: [
        `Each point: the median of ${ROUNDS} rounds of ${SECONDS_PER_ROUND} s, the endpoints of a level taking turns round by round (after a ${WARMUP_SECONDS} s warm-up each); the workload JWT's keys, the settings and the compiled policy are in isolate memory (warm).`,
        "Little's law = measured mean latency ÷ (connections ÷ throughput); 1.00 means the percentiles describe the run (⚠ = off by more than 10%).",
        ...(inconsistent.length > 0 ? [`${inconsistent.length} point(s) failed the Little's-law check: the generator shared the CPU with workerd (2 cores).`] : []),
      ],
    };
  } finally {
    await stack.stop();
  }
}

export const tokenThroughput: Benchmark = {
  name: "token-throughput",
  description: "token endpoint vs floor vs no-op at 1/16/64 connections; RS256 vs ES256; in-process verify/decide/sign",
  run,
};
