/**
 * Process figures from /proc (Linux): CPU time, resident memory, and the
 * workerd process a Miniflare instance started. CPU comes in clock ticks
 * (`getconf CLK_TCK`, usually 100/s, so 10 ms resolution): callers measure over
 * enough requests that a tick is noise.
 */
import { readdirSync, readFileSync } from "node:fs";
import { runCommand } from "@jwt-registry-auth/testkit/process";

export interface ProcStat {
  readonly pid: number;
  readonly comm: string;
  readonly ppid: number;
  /** utime + stime of all the process's threads, in clock ticks. */
  readonly cpuTicks: number;
}

/** Parses /proc/<pid>/stat. `comm` is in parentheses and may itself hold spaces or parentheses, so fields are counted from the last `)`. */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) throw new Error("not a /proc/<pid>/stat line");
  const fields = text.slice(close + 2).trim().split(/\s+/);
  // fields[0] is field 3 (state); ppid is field 4, utime 14, stime 15.
  const at = (field: number): number => {
    const value = Number(fields[field - 3]);
    if (!Number.isInteger(value)) throw new Error(`/proc/<pid>/stat field ${field} is not an integer`);
    return value;
  };
  return { pid: Number(text.slice(0, open).trim()), comm: text.slice(open + 1, close), ppid: at(4), cpuTicks: at(14) + at(15) };
}

export function readProcStat(pid: number): ProcStat {
  return parseProcStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
}

export interface Memory {
  /** VmRSS. */
  readonly rssBytes: number;
  /** VmHWM: the peak RSS since the process started. */
  readonly peakRssBytes: number;
}

/** Parses the VmRSS and VmHWM lines (in kB) of /proc/<pid>/status. */
export function parseProcStatus(text: string): Memory {
  const kb = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, "m").exec(text);
    if (!match) throw new Error(`/proc/<pid>/status has no ${name} line`);
    return Number(match[1]) * 1024;
  };
  return { rssBytes: kb("VmRSS"), peakRssBytes: kb("VmHWM") };
}

export function readMemory(pid: number): Memory {
  return parseProcStatus(readFileSync(`/proc/${pid}/status`, "utf8"));
}

let ticksPerSecond: number | undefined;

/** `getconf CLK_TCK`. */
export async function clockTicksPerSecond(): Promise<number> {
  if (ticksPerSecond === undefined) {
    const result = await runCommand("getconf", ["CLK_TCK"], { timeoutMs: 10_000 });
    const value = Number(result.stdout.trim());
    if (result.code !== 0 || !Number.isInteger(value) || value <= 0) throw new Error("getconf CLK_TCK failed");
    ticksPerSecond = value;
  }
  return ticksPerSecond;
}

/** The PIDs of `parent`'s live children whose command name is `comm`. */
export function childrenNamed(parent: number, comm: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readProcStat(Number(entry));
      if (stat.ppid === parent && stat.comm === comm) pids.push(stat.pid);
    } catch {
      // the process exited while we looked
    }
  }
  return pids;
}

/** CPU seconds a process has used so far. */
export async function cpuSeconds(pid: number): Promise<number> {
  return readProcStat(pid).cpuTicks / (await clockTicksPerSecond());
}

/** Samples a process's RSS every `intervalMs` until stopped; returns the largest sample and VmHWM. */
export function sampleMemory(pid: number, intervalMs = 100): { stop(): Memory & { maxSampledRssBytes: number } } {
  let max = 0;
  const sample = (): void => {
    try {
      max = Math.max(max, readMemory(pid).rssBytes);
    } catch {
      // the process exited; the last sample stands
    }
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { ...readMemory(pid), maxSampledRssBytes: max };
    },
  };
}
