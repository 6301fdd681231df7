/**
 * A CPU profile of code running in this process (node:inspector, the same
 * profiler `node --cpu-prof` drives), summarized by self time per function and
 * per part of the code base. workerd can't be profiled with `--cpu-prof`, so
 * the token path's own modules are profiled here, in Node.
 */
import { Session } from "node:inspector/promises";
import { writeFileSync } from "node:fs";

export interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  /** 0-based, as V8 reports them. */
  readonly lineNumber: number;
  readonly columnNumber?: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface ProfileEntry {
  readonly name: string;
  readonly selfMs: number;
  readonly share: number;
}

export interface ProfileSummary {
  readonly totalMs: number;
  /** Self time grouped by part (see {@link partOf}). */
  readonly parts: readonly ProfileEntry[];
  /** The functions with the most self time. */
  readonly functions: readonly ProfileEntry[];
  /** Where the raw .cpuprofile was written (open it in Chrome DevTools). */
  readonly profilePath: string;
}

/** Which part of the system a stack frame belongs to, from its script URL. */
export function partOf(url: string, functionName: string): string {
  if (url === "") return functionName.startsWith("(") ? functionName : "native / runtime";
  if (url.includes("/node_modules/jose/")) return "jose (JWT/JWS code)";
  if (url.includes("/node_modules/@bufbuild/cel/")) return "@bufbuild/cel (CEL evaluation)";
  if (url.includes("/core/src/policy/cel-values")) return "core: claims/scope → CEL values";
  if (url.includes("/core/src/policy/") || url.includes("/worker/src/policy/")) return "core/worker: policy decisions";
  if (url.includes("/worker/src/identity/")) return "worker: identity (verify, JWKS cache)";
  if (url.includes("/core/src/signing-keys/") || url.includes("/worker/src/signing/") || url.includes("/worker/src/token/")) return "core/worker: token issuing/signing";
  if (url.startsWith("node:internal/crypto") || url.includes("internal/crypto/")) return "Node WebCrypto (JS side)";
  if (url.startsWith("node:")) return "Node internals";
  if (url.includes("/bench/")) return "bench harness";
  return "other";
}

/** A frame's part and, optionally, its name in the function list. */
export type FrameDescriber = (frame: CallFrame) => { readonly part: string; readonly name?: string };

/** `describe` names a frame's part (default {@link partOf}, by script URL); a bundled Worker's frames need its source map for that. */
export function summarizeProfile(profile: CpuProfile, profilePath: string, top = 12, describe: FrameDescriber = (f) => ({ part: partOf(f.url, f.functionName) })): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const parts = new Map<string, number>();
  const functions = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined || frame.functionName === "(idle)") continue;
    total += us;
    const described = describe(frame);
    const part = described.part;
    parts.set(part, (parts.get(part) ?? 0) + us);
    const file = frame.url.replace(/^.*\/(node_modules\/|worker\/src\/)/, "$1");
    const name = described.name ?? `${frame.functionName || "(anonymous)"} ${file === "" ? "" : `${file}:${frame.lineNumber + 1}`}`.trim();
    functions.set(name, (functions.get(name) ?? 0) + us);
  }
  const entries = (m: Map<string, number>): ProfileEntry[] =>
    [...m.entries()].sort((a, b) => b[1] - a[1]).map(([name, us]) => ({ name, selfMs: us / 1000, share: total > 0 ? us / total : 0 }));
  return { totalMs: total / 1000, parts: entries(parts), functions: entries(functions).slice(0, top), profilePath };
}

/** Profiles `work` (sampling every 100 µs) and writes the raw profile to `profilePath`. */
export async function profile(work: () => Promise<void>, profilePath: string): Promise<ProfileSummary> {
  const session = new Session();
  session.connect();
  try {
    await session.post("Profiler.enable");
    await session.post("Profiler.setSamplingInterval", { interval: 100 });
    await session.post("Profiler.start");
    await work();
    const { profile: result } = (await session.post("Profiler.stop")) as { profile: CpuProfile };
    writeFileSync(profilePath, JSON.stringify(result));
    return summarizeProfile(result, profilePath);
  } finally {
    session.disconnect();
  }
}
