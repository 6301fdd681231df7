/**
 * cold-start: the Worker's own CPU on a fresh isolate's first token request,
 * profiled inside workerd. A new token-server instance is served with its
 * inspector open; V8's sampling profiler (CDP `Profiler`, every 100 µs) runs
 * from just before the first request to just after its response. Each sample's
 * self time is attributed to a part by the original source file of its frame
 * (through the bundle's source map) or, for native frames, by function name.
 * Waiting on fetch, KV or D1 is idle time for the isolate and is not counted;
 * the local D1/KV simulators run in other isolates, which this profile does
 * not see.
 */
import { readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { dirname, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { REPO_ROOT } from "@jwt-registry-auth/testkit/repo-root";
import type { Benchmark, BenchmarkOutput } from "./lib/benchmark.ts";
import { connectInspector } from "./lib/inspector.ts";
import { summarizeProfile, type CpuProfile } from "./lib/profile.ts";
import { fixed, type Table } from "./lib/table.ts";
import { startTokenStack } from "./lib/token-stack.ts";

/** Issue 12: a cold isolate's first token request, the Worker's own CPU. */
const TARGET_MS = 10;

/** Which part of the token server a frame's self time belongs to: its original source (from the source map), else its native function name. */
export function coldPartOf(source: string | undefined, functionName: string): string {
  if (source === undefined || source === "") {
    if (functionName === "(garbage collector)") return "GC";
    if (functionName === "(program)" || functionName === "(root)") return "V8 / runtime (program)";
    if (/^(parse|stringify)$/.test(functionName)) return "JSON";
    if (/^(importKey|sign|verify|digest|exportKey|getRandomValues)$/.test(functionName)) return "crypto (native)";
    if (/^(log|info|warn|error)$/.test(functionName)) return "logging";
    return "other (native)";
  }
  if (source.includes("@bufbuild/cel") || source.includes("/policy/")) return "CEL plan/compile/eval, policy";
  if (source.includes("worker/src/settings") || source.includes("signing-keys/") || source.includes("/der.")) return "settings and key import";
  if (source.includes("node_modules/jose/") || source.includes("worker/src/signing/")) return "crypto (JWT verify/sign JS)";
  if (source.includes("worker/src/log")) return "logging";
  if (source.includes("/identity/")) return "identity (JWKS, discovery, verify)";
  if (source.includes("node_modules/hono/")) return "routing (hono)";
  if (source.startsWith("cloudflare-internal:d1")) return "D1 binding (workerd's own JS)";
  if (source.startsWith("cloudflare-internal:") || source.startsWith("node-internal:")) return "other (workerd's own JS)";
  return `other: ${packageOf(source)}`;
}

/** `node_modules/<package>` or `<workspace>/src/<first dir>` of a source path, so the rest is grouped by where it lives. */
export function packageOf(source: string): string {
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(source);
  if (dep?.[1] !== undefined) return dep[1];
  const own = /(?:^|\/)([a-z-]+\/src\/[^/]+)/.exec(source);
  return own?.[1]?.replace(/\.ts$/, "") ?? source;
}

async function run(): Promise<BenchmarkOutput> {
  const stack = await startTokenStack();
  try {
    const worker = await stack.serveTokenServer({ inspector: true });
    if (worker.inspectorUrl === undefined) throw new Error("served without an inspector");
    const mapPath = `${stack.bundles.tokenServer.scriptPath}.map`;
    const sourceMap = new SourceMap(JSON.parse(readFileSync(mapPath, "utf8")) as ConstructorParameters<typeof SourceMap>[0]);
    const inspector = await connectInspector(worker.inspectorUrl);
    let status: number;
    let profile: CpuProfile;
    try {
      await inspector.send("Profiler.enable");
      await inspector.send("Profiler.setSamplingInterval", { interval: 100 });
      await inspector.send("Profiler.start");
      const response = await fetch(`${worker.url}/token?${new URL(stack.tokenUrl()).search.slice(1)}`, { headers: { Authorization: stack.basic("RS256") } });
      await response.text();
      status = response.status;
      ({ profile } = await inspector.send<{ profile: CpuProfile }>("Profiler.stop"));
    } finally {
      inspector.close();
      await worker.stop();
    }
    if (status !== 200) throw new Error(`the cold isolate's first token request answered ${status}`);
    const bundleUrl = pathToFileURL(stack.bundles.tokenServer.scriptPath).href;
    const summary = summarizeProfile(profile, "", 15, (frame) => {
      const fromBundle = frame.url !== "" && (frame.url === bundleUrl || frame.url.endsWith(stack.bundles.tokenServer.scriptPath.split("/").pop() ?? "\0"));
      if (!fromBundle) return { part: coldPartOf(frame.url === "" ? undefined : frame.url, frame.functionName) };
      // findEntry answers {} for a position the map doesn't cover.
      const entry = sourceMap.findEntry(frame.lineNumber, frame.columnNumber ?? 0) as { originalSource?: string; originalLine?: number; name?: string };
      // Sources are relative to the bundle's directory; name them from the repo root.
      const source = entry.originalSource === undefined ? undefined : relative(REPO_ROOT, resolve(dirname(stack.bundles.tokenServer.scriptPath), entry.originalSource.replace(/^file:\/\//, "")));
      return {
        part: coldPartOf(source, frame.functionName),
        // The bundle is minified: name the function by where it starts in the original source.
        ...(source !== undefined && { name: `${source.replace(/^.*node_modules\//, "")}:${(entry.originalLine ?? 0) + 1}` }),
      };
    });
    const ownMs = summary.parts.filter((p) => !p.name.includes("workerd's own JS")).reduce((n, p) => n + p.selfMs, 0);
    const tables: Table[] = [
      {
        title: `cold isolate, first token request: the Worker's own CPU by part (V8 sampling profile in workerd; target ≤ ${TARGET_MS} ms)`,
        columns: ["part", "self ms", "share"],
        rows: [...summary.parts.map((p) => [p.name, fixed(p.selfMs, 2), `${fixed(p.share * 100)} %`]), ["total", fixed(summary.totalMs, 2), "100 %"]],
      },
      { title: "top functions by self time", columns: ["function", "self ms"], rows: summary.functions.map((f) => [f.name, fixed(f.selfMs, 2)]) },
    ];
    return {
      tables,
      data: { totalMs: summary.totalMs, withoutWorkerdJsMs: ownMs, parts: summary.parts, functions: summary.functions, targetMs: TARGET_MS },
      notes: [
        `Total ${fixed(summary.totalMs, 2)} ms of the isolate's CPU against the ${TARGET_MS} ms target: ${summary.totalMs <= TARGET_MS ? "met" : "missed"}; without workerd's own JS (the D1 binding's wrapper and other built-ins, not the Worker's code) ${fixed(ownMs, 2)} ms.`,
        "V8's profiler times samples by the wall clock: a thread descheduled mid-function charges that function, so on a loaded machine (see the load average) every figure reads high and varies from run to run; compare parts within a run, on a quiet machine. Startup (the global scope) ran when workerd loaded the Worker, before the profiler was attached, and is not in this figure. An attached inspector makes console.log dearer than in production, so 'logging' reads high.",
      ],
    };
  } finally {
    await stack.stop();
  }
}

export const coldStart: Benchmark = {
  name: "cold-start",
  description: "a fresh token-server isolate's first token request: the Worker's own CPU by part, profiled in workerd",
  run,
};
