/** What the figures were measured on: they only mean something beside it. */
import { cpus, loadavg, release, totalmem } from "node:os";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "@jwt-registry-auth/testkit/repo-root";

export interface Machine {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly node: string;
  readonly workerd: string;
  readonly miniflare: string;
  /** 1-minute load average: other work on the machine shows up in every figure. */
  readonly loadAverage1m: number;
}

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(REPO_ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

export function describeMachine(): Machine {
  const cpuList = cpus();
  return {
    cpuModel: cpuList[0]?.model.trim() ?? "unknown",
    cores: cpuList.length,
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    kernel: release(),
    node: process.version,
    workerd: packageVersion("workerd"),
    miniflare: packageVersion("miniflare"),
    loadAverage1m: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}
