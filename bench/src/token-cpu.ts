/**
 * token-cpu: workerd CPU time per token request on one connection, warm (keys,
 * settings and compiled policy in isolate memory) and cold (a new isolate:
 * module init, then a first request that loads the policy from D1, fetches
 * discovery + JWKS from the local issuer and imports the keys), beside the
 * floor and the no-op — the figures that decide whether the Workers free plan's
 * 10 ms CPU limit is safe. Beside the typical request (3 scopes, 4 actions),
 * the worst one the server admits (32 scopes × 8 actions: 256 authz
 * evaluations, every action granted) and one just past the scope cap (33
 * scopes, answered 400), with their response and token sizes. Then a CPU
 * profile of the token path's parts.
 *
 * First, interleaved in short rounds at 1 and 16 connections: the token
 * server, the physical floor (crypto.subtle only), the module floor (the token
 * server's own modules) and the no-op, each in its own workerd so /proc CPU is
 * per endpoint; plus the saved pre-fix bundle ("token server before") when
 * BENCH_TOKEN_BEFORE (default /tmp/bench-baseline/token/index.js) exists.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { decodeJwt } from "jose";
import { parseScopes, type AccessEntry } from "@jwt-registry-auth/protocol";
import { makeTempDir, removeDir } from "@jwt-registry-auth/testkit/temp-dir";
import type { Benchmark, BenchmarkOutput } from "./lib/benchmark.ts";
import { tokenPathParts, timeOp } from "./lib/in-process.ts";
import { generateLoad } from "./lib/loadgen.ts";
import { cpuSeconds, clockTicksPerSecond } from "./lib/proc.ts";
import { profile, type ProfileSummary } from "./lib/profile.ts";
import { serveWorker, type ServedWorker } from "./lib/serve.ts";
import { fixed, ratio, type Table } from "./lib/table.ts";
import { SCOPES, SERVICE, startTokenStack, type TokenStack } from "./lib/token-stack.ts";
import { WORST_ACTIONS, WORST_EVALUATIONS, WORST_SCOPE_COUNT, worstScopes } from "./lib/worst-request.ts";

const WARM_SECONDS = 5;
/** Issue 12's target: token CPU per warm request ≤ 1.3× the physical floor's. */
const PHYSICAL_FLOOR_TARGET = 1.3;
const INTERLEAVED_CONNECTIONS = [1, 16] as const;
const INTERLEAVED_ROUNDS = 3;
const SECONDS_PER_ROUND = 1.5;
const BEFORE_BUNDLE = process.env["BENCH_TOKEN_BEFORE"] ?? "/tmp/bench-baseline/token/index.js";
const COLD_SAMPLES = 5;
/** The Workers free plan's CPU limit per request. */
const FREE_PLAN_CPU_MS = 10;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

interface WarmCpu {
  readonly cpuMs: number;
  readonly requests: number;
  /** Median latency at the load generator, ms. */
  readonly p50Ms: number;
}

/** workerd CPU per request over WARM_SECONDS of back-to-back requests, every one answered `expectStatus`. */
async function warmCpuMs(worker: ServedWorker, url: string, headers: Record<string, string>, expectStatus = 200): Promise<WarmCpu> {
  await generateLoad({ url, headers, connections: 1, durationSeconds: 1 });
  const before = await cpuSeconds(worker.workerdPid);
  const result = await generateLoad({ url, headers, connections: 1, durationSeconds: WARM_SECONDS });
  const after = await cpuSeconds(worker.workerdPid);
  const expected = result.statuses[String(expectStatus)] ?? 0;
  const otherErrors = result.errorCount - (expectStatus >= 400 ? expected : 0);
  if (expected !== result.requests || otherErrors > 0) {
    throw new Error(`${url.slice(0, 200)}: expected ${result.requests} × ${expectStatus}, got ${JSON.stringify(result.statuses)} and ${otherErrors} errors during the CPU run`);
  }
  return { cpuMs: ((after - before) * 1000) / result.requests, requests: result.requests, p50Ms: result.latencyUs.p50 / 1000 };
}

type Interleaved = "token" | "before" | "physical" | "module" | "noop";

const INTERLEAVED_LABEL: Record<Interleaved, string> = {
  token: "token server",
  before: "token server before",
  physical: "physical floor",
  module: "module floor",
  noop: "no-op",
};

interface InterleavedPoint {
  readonly endpoint: Interleaved;
  readonly connections: number;
  readonly requests: number;
  /** Median over the rounds. */
  readonly cpuUs: number;
  readonly requestsPerSecond: number;
}

interface InterleavedTarget {
  readonly endpoint: Interleaved;
  readonly worker: ServedWorker;
  readonly url: string;
  readonly headers: Record<string, string>;
}

/** One round of one endpoint: workerd CPU (its own process) ÷ requests, every one a 200. */
async function cpuRound(t: InterleavedTarget, connections: number): Promise<{ cpuUs: number; requests: number; requestsPerSecond: number }> {
  const before = await cpuSeconds(t.worker.workerdPid);
  const result = await generateLoad({ url: t.url, headers: t.headers, connections, durationSeconds: SECONDS_PER_ROUND });
  const after = await cpuSeconds(t.worker.workerdPid);
  if ((result.statuses["200"] ?? 0) !== result.requests || result.errorCount > 0 || result.requests === 0) {
    throw new Error(`${INTERLEAVED_LABEL[t.endpoint]}: expected ${result.requests} × 200, got ${JSON.stringify(result.statuses)} and ${result.errorCount} errors\n${t.worker.recentLogs().join("\n")}`);
  }
  return { cpuUs: ((after - before) * 1e6) / result.requests, requests: result.requests, requestsPerSecond: result.requestsPerSecond };
}

/** The endpoints take turns in short rounds, so load from elsewhere on the machine hits them alike. */
async function interleaved(targets: readonly InterleavedTarget[]): Promise<InterleavedPoint[]> {
  const points: InterleavedPoint[] = [];
  for (const t of targets) await generateLoad({ url: t.url, headers: t.headers, connections: 16, durationSeconds: 1 });
  for (const connections of INTERLEAVED_CONNECTIONS) {
    const rounds = targets.map(() => [] as { cpuUs: number; requests: number; requestsPerSecond: number }[]);
    for (let round = 0; round < INTERLEAVED_ROUNDS; round++) {
      for (const [i, t] of targets.entries()) rounds[i]?.push(await cpuRound(t, connections));
    }
    for (const [i, t] of targets.entries()) {
      const r = rounds[i] ?? [];
      points.push({
        endpoint: t.endpoint,
        connections,
        requests: r.reduce((n, x) => n + x.requests, 0),
        cpuUs: median(r.map((x) => x.cpuUs)),
        requestsPerSecond: median(r.map((x) => x.requestsPerSecond)),
      });
    }
  }
  return points;
}

/** The saved pre-fix bundle on the same D1, or why it isn't measured. */
async function serveBefore(stack: TokenStack): Promise<{ worker: ServedWorker } | { skipped: string }> {
  if (!existsSync(BEFORE_BUNDLE)) return { skipped: `${BEFORE_BUNDLE} does not exist` };
  const worker = await stack.serveTokenServer({ scriptPath: BEFORE_BUNDLE });
  const probe = await fetch(`${worker.url}/token?${stack.tokenUrl().split("?")[1] ?? ""}`, { headers: { Authorization: stack.basic("RS256") } });
  const body = await probe.text();
  if (probe.status !== 200) {
    await worker.stop();
    return { skipped: `${BEFORE_BUNDLE} answered ${probe.status}: ${body.slice(0, 200)}` };
  }
  return { worker };
}

interface Answer {
  readonly status: number;
  readonly responseBytes: number;
  /** The registry token's length (compact JWS), when one was issued. */
  readonly tokenBytes?: number;
  /** What the token grants. */
  readonly access: readonly AccessEntry[];
  /** The error message, when refused. */
  readonly message?: string;
}

/** One request, to see what the server answers and how big the answer is. */
async function answer(url: string, headers: Record<string, string>): Promise<Answer> {
  const response = await fetch(url, { headers });
  const body = await response.text();
  const responseBytes = Buffer.byteLength(body);
  if (response.status !== 200) {
    let message = body.slice(0, 300);
    try {
      message = (JSON.parse(body) as { errors?: { message?: string }[] }).errors?.[0]?.message ?? message;
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, responseBytes, access: [], message };
  }
  const token = (JSON.parse(body) as { token: string }).token;
  return { status: 200, responseBytes, tokenBytes: Buffer.byteLength(token), access: decodeJwt(token)["access"] as AccessEntry[] };
}

/** An answer for the results file: the granted access as a count, not 256 entries. */
function summarize({ access, ...rest }: Answer): Omit<Answer, "access"> & { grantedActions: number } {
  return { ...rest, grantedActions: actionCount(access) };
}

const actionCount = (scopes: readonly { readonly actions: readonly string[] }[]): number => scopes.reduce((n, s) => n + s.actions.length, 0);

interface ColdSample {
  /** workerd CPU from spawn to ready: process start + script compile + module init. */
  readonly startCpuMs: number;
  readonly firstRequestCpuMs: number;
  readonly firstRequestMs: number;
  readonly secondRequestCpuMs: number;
}

async function coldSample(stack: TokenStack): Promise<ColdSample> {
  const kvDir = makeTempDir("bench-cold-kv");
  // A fresh KV: the first request must fetch discovery and JWKS from the issuer.
  const worker = await stack.serveTokenServer({ kvPersist: kvDir });
  try {
    const ready = await cpuSeconds(worker.workerdPid);
    const started = performance.now();
    const first = await fetch(`${worker.url}/token?${stack.tokenUrl().split("?")[1] ?? ""}`, { headers: { Authorization: stack.basic("RS256") } });
    await first.text();
    const firstRequestMs = performance.now() - started;
    if (first.status !== 200) throw new Error(`cold token request answered ${first.status}`);
    const afterFirst = await cpuSeconds(worker.workerdPid);
    const second = await fetch(`${worker.url}/token?${stack.tokenUrl().split("?")[1] ?? ""}`, { headers: { Authorization: stack.basic("RS256") } });
    await second.text();
    const afterSecond = await cpuSeconds(worker.workerdPid);
    return { startCpuMs: ready * 1000, firstRequestCpuMs: (afterFirst - ready) * 1000, firstRequestMs, secondRequestCpuMs: (afterSecond - afterFirst) * 1000 };
  } finally {
    await worker.stop();
    removeDir(kvDir);
  }
}

/** workerd's start-up CPU with a one-line Worker: what the token server's start costs beyond it is its script and module init. */
async function baselineStartCpuMs(compatibilityDate: string): Promise<number> {
  const worker = await serveWorker({ script: "export default { fetch() { return new Response(null); } };", compatibilityDate });
  try {
    return (await cpuSeconds(worker.workerdPid)) * 1000;
  } finally {
    await worker.stop();
  }
}

async function run(): Promise<BenchmarkOutput> {
  const stack = await startTokenStack();
  const profileDir = makeTempDir("bench-profile");
  try {
    const auth = { Authorization: stack.basic("RS256") };
    const before = await serveBefore(stack);
    const tokenQueryString = stack.tokenUrl().split("?")[1] ?? "";
    const targets: InterleavedTarget[] = [
      { endpoint: "token", worker: stack.tokenServer, url: stack.tokenUrl(), headers: auth },
      ...("worker" in before ? [{ endpoint: "before" as const, worker: before.worker, url: `${before.worker.url}/token?${tokenQueryString}`, headers: auth }] : []),
      { endpoint: "physical", worker: stack.physicalFloor, url: stack.physicalFloorUrl(), headers: auth },
      { endpoint: "module", worker: stack.floor, url: stack.floorUrl(), headers: auth },
      { endpoint: "noop", worker: stack.physicalFloor, url: stack.physicalNoopUrl(), headers: {} },
    ];
    const points = await interleaved(targets);
    if ("worker" in before) await before.worker.stop();
    const pointOf = (endpoint: Interleaved, connections: number): InterleavedPoint | undefined => points.find((p) => p.endpoint === endpoint && p.connections === connections);
    const floorRatios = INTERLEAVED_CONNECTIONS.map((connections) => {
      const cpu = (e: Interleaved): number => pointOf(e, connections)?.cpuUs ?? Number.NaN;
      return { connections, physical: cpu("token") / cpu("physical"), module: cpu("token") / cpu("module"), beforeAfter: cpu("token") / cpu("before") };
    });
    const warm = {
      token: await warmCpuMs(stack.tokenServer, stack.tokenUrl(), auth),
      floor: await warmCpuMs(stack.floor, stack.floorUrl(), auth),
      noop: await warmCpuMs(stack.floor, stack.noopUrl(), {}),
    };

    // The worst admitted request must really be admitted and granted in full, and one past the cap refused, or the figures describe something else.
    const worstAuth = { Authorization: stack.worst.basic };
    const pastCapCount = WORST_SCOPE_COUNT + 1;
    const answers = {
      typical: await answer(stack.tokenUrl(), auth),
      worst: await answer(stack.worst.url(), worstAuth),
      pastCap: await answer(stack.worst.url(pastCapCount), worstAuth),
    };
    if (answers.worst.status !== 200 || actionCount(answers.worst.access) !== WORST_EVALUATIONS) {
      throw new Error(`worst admitted request: expected 200 granting ${WORST_EVALUATIONS} actions, got ${answers.worst.status} granting ${actionCount(answers.worst.access)} (${answers.worst.message ?? ""})`);
    }
    if (answers.pastCap.status !== 400) throw new Error(`${pastCapCount} scopes: expected 400, got ${answers.pastCap.status}`);
    const sizes = {
      typical: { scopes: SCOPES.length, actions: actionCount(parseScopes([...SCOPES])) },
      worst: { scopes: WORST_SCOPE_COUNT, actions: WORST_EVALUATIONS },
      pastCap: { scopes: pastCapCount, actions: actionCount(parseScopes(worstScopes(pastCapCount))) },
    };
    const requestCpu = {
      typical: warm.token,
      worst: await warmCpuMs(stack.tokenServer, stack.worst.url(), worstAuth),
      pastCap: await warmCpuMs(stack.tokenServer, stack.worst.url(pastCapCount), worstAuth, 400),
    };

    const cold: ColdSample[] = [];
    const baselines: number[] = [];
    for (let i = 0; i < COLD_SAMPLES; i++) {
      baselines.push(await baselineStartCpuMs(stack.bundles.tokenServer.compatibilityDate));
      cold.push(await coldSample(stack));
    }
    const coldMedian = {
      startCpuMs: median(cold.map((c) => c.startCpuMs)),
      baselineStartCpuMs: median(baselines),
      firstRequestCpuMs: median(cold.map((c) => c.firstRequestCpuMs)),
      firstRequestMs: median(cold.map((c) => c.firstRequestMs)),
      secondRequestCpuMs: median(cold.map((c) => c.secondRequestCpuMs)),
    };
    const moduleInitMs = coldMedian.startCpuMs - coldMedian.baselineStartCpuMs;

    const kv = (await stack.tokenServer.miniflare.getKVNamespace("JWKS_CACHE")) as unknown as KVNamespace;
    const parts = await tokenPathParts({ provider: stack.providerConfigs.RS256, jwt: stack.providers.RS256.jwt, service: SERVICE, access: stack.access, bindings: stack.bindings, kv });
    const stages = {
      verify: (await timeOp(parts.verify)).usPerOp,
      decide: (await timeOp(parts.decide)).usPerOp,
      sign: (await timeOp(parts.sign)).usPerOp,
    };
    // The same parts for the worst admitted request: decide runs authn + 256 authz, sign puts 32 × 8 actions in the token.
    const worstParts = await tokenPathParts({ provider: stack.worst.config, jwt: stack.providers.RS256.jwt, service: SERVICE, access: answers.worst.access, bindings: stack.bindings, kv });
    const worstStages: Record<keyof typeof stages, number> = {
      verify: (await timeOp(worstParts.verify)).usPerOp,
      decide: (await timeOp(worstParts.decide)).usPerOp,
      sign: (await timeOp(worstParts.sign)).usPerOp,
    };
    const slowest = (Object.entries(stages) as [keyof typeof stages, number][]).sort((a, b) => b[1] - a[1])[0] as [string, number];
    const summary: ProfileSummary = await profile(async () => {
      const end = performance.now() + 3000;
      while (performance.now() < end) {
        await parts.verify();
        parts.decide();
        await parts.sign();
      }
    }, join(profileDir, "token-path.cpuprofile"));

    const tick = 1000 / (await clockTicksPerSecond());
    const tables: Table[] = [
      {
        title: `token-cpu: interleaved (${INTERLEAVED_ROUNDS} rounds × ${SECONDS_PER_ROUND} s, median), each endpoint its own workerd on its own socket, CPU per request`,
        columns: ["endpoint", "connections", "requests", "req/s", "CPU µs/request", "× physical floor", "× module floor"],
        rows: points.map((p) => {
          const physical = pointOf("physical", p.connections)?.cpuUs ?? Number.NaN;
          const moduleFloor = pointOf("module", p.connections)?.cpuUs ?? Number.NaN;
          return [INTERLEAVED_LABEL[p.endpoint], String(p.connections), String(p.requests), fixed(p.requestsPerSecond), fixed(p.cpuUs, 0), ratio(p.cpuUs, physical), ratio(p.cpuUs, moduleFloor)];
        }),
      },
      {
        title: `token-cpu: token server CPU ÷ floors (target ≤ ${PHYSICAL_FLOOR_TARGET}× the physical floor)`,
        columns: ["connections", "token / physical floor", "target met", "token / module floor", "token after / before"],
        rows: floorRatios.map((r) => [
          String(r.connections),
          `${fixed(r.physical, 2)}×`,
          Number.isFinite(r.physical) ? (r.physical <= PHYSICAL_FLOOR_TARGET ? "yes" : "no") : "–",
          `${fixed(r.module, 2)}×`,
          Number.isFinite(r.beforeAfter) ? `${fixed(r.beforeAfter, 2)}×` : "–",
        ]),
      },
      {
        title: "token-cpu: workerd CPU per request, 1 connection, warm isolate",
        columns: ["endpoint", "requests", "CPU ms/request", "minus no-op", `share of ${FREE_PLAN_CPU_MS} ms`],
        rows: (["token", "floor", "noop"] as const).map((k) => [
          k,
          String(warm[k].requests),
          fixed(warm[k].cpuMs, 3),
          k === "noop" ? "" : fixed(warm[k].cpuMs - warm.noop.cpuMs, 3),
          k === "noop" ? "" : `${fixed(((warm[k].cpuMs - warm.noop.cpuMs) / FREE_PLAN_CPU_MS) * 100, 1)}%`,
        ]),
      },
      {
        title: `token-cpu: typical vs worst admitted request vs one past the cap (${WORST_SCOPE_COUNT} scopes × ${WORST_ACTIONS.length} actions), 1 connection, warm isolate`,
        columns: ["request", "scopes", "actions", "status", "requests", "CPU ms/request", "minus no-op", `share of ${FREE_PLAN_CPU_MS} ms`, "p50 ms", "response bytes", "token bytes"],
        rows: (["typical", "worst", "pastCap"] as const).map((k) => [
          { typical: "typical", worst: "worst admitted", pastCap: "past the cap" }[k],
          String(sizes[k].scopes),
          String(sizes[k].actions),
          String(answers[k].status),
          String(requestCpu[k].requests),
          fixed(requestCpu[k].cpuMs, 3),
          fixed(requestCpu[k].cpuMs - warm.noop.cpuMs, 3),
          `${fixed(((requestCpu[k].cpuMs - warm.noop.cpuMs) / FREE_PLAN_CPU_MS) * 100, 1)}%`,
          fixed(requestCpu[k].p50Ms, 2),
          String(answers[k].responseBytes),
          answers[k].tokenBytes === undefined ? "" : String(answers[k].tokenBytes),
        ]),
      },
      {
        title: `token-cpu: cold isolate (median of ${COLD_SAMPLES}; /proc resolution ${fixed(tick, 0)} ms)`,
        columns: ["what", "CPU ms"],
        rows: [
          ["workerd start with the token server (process + compile + module init)", fixed(coldMedian.startCpuMs, 0)],
          ["workerd start with a one-line Worker", fixed(coldMedian.baselineStartCpuMs, 0)],
          ["→ token server script compile + module init", fixed(moduleInitMs, 0)],
          ["first request (D1 policy load + compile, discovery + JWKS fetch, key imports, sign)", fixed(coldMedian.firstRequestCpuMs, 0)],
          ["second request (warm)", fixed(coldMedian.secondRequestCpuMs, 0)],
          ["first request wall time, ms", fixed(coldMedian.firstRequestMs, 1)],
        ],
      },
      {
        title: "token-cpu: the token path's parts in-process (Node), µs per call",
        columns: ["part", "typical", "worst admitted"],
        rows: (Object.keys(stages) as (keyof typeof stages)[]).map((k) => [k, fixed(stages[k], 1), fixed(worstStages[k], 1)]),
      },
      {
        title: `token-cpu: CPU profile of verify + decide + sign in Node (${fixed(summary.totalMs, 0)} ms sampled), self time by part`,
        columns: ["part", "self ms", "share"],
        rows: summary.parts.slice(0, 8).map((p) => [p.name, fixed(p.selfMs, 0), `${fixed(p.share * 100, 1)}%`]),
      },
      {
        title: "token-cpu: hottest functions (self time)",
        columns: ["function", "self ms", "share"],
        rows: summary.functions.slice(0, 10).map((f) => [f.name, fixed(f.selfMs, 0), `${fixed(f.share * 100, 1)}%`]),
      },
    ];
    return {
      tables,
      data: { interleaved: points, floorRatios, before: "worker" in before ? BEFORE_BUNDLE : before.skipped, warm, requests: { sizes, cpu: requestCpu, answers: { typical: summarize(answers.typical), worst: summarize(answers.worst), pastCap: summarize(answers.pastCap) } }, cold, coldMedian, moduleInitMs, stages, worstStages, profile: { parts: summary.parts, functions: summary.functions } },
      notes: [
        `Interleaved: CPU = the endpoint's workerd utime+stime from /proc over each ${SECONDS_PER_ROUND} s round ÷ requests (the no-op runs on the physical floor's workerd); "token server before" = ${"worker" in before ? BEFORE_BUNDLE : `not measured (${before.skipped})`}.`,
        `CPU = workerd's utime+stime from /proc over ${WARM_SECONDS} s of back-to-back requests, ÷ requests; "minus no-op" removes what the serving path (workerd's own socket: HTTP and the runtime, no entry worker) costs any request.`,
        `Worst admitted request: ${WORST_SCOPE_COUNT} repository scopes × ${WORST_ACTIONS.length} actions (${WORST_ACTIONS.join(",")}) to a provider whose authz names every one, "*" included, so all ${WORST_EVALUATIONS} (scope, action) pairs are evaluated and granted; past the cap: ${pastCapCount} such scopes, refused with "${answers.pastCap.message ?? ""}".`,
        `Slowest part of the token path in-process: ${slowest[0]} (${fixed(slowest[1], 0)} µs per request).`,
        "In-process figures use Node's WebCrypto (OpenSSL); workerd's is BoringSSL: compare them with each other, not with workerd's.",
      ],
    };
  } finally {
    await stack.stop();
    removeDir(profileDir);
  }
}

export const tokenCpu: Benchmark = {
  name: "token-cpu",
  description: "workerd CPU per token request (warm and cold isolate) vs floor and no-op; profile of the token path",
  run,
};
