/** Shared by this package's integration tests: a stand-in cluster and a client on it. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig, Watch } from "@kubernetes/client-node";
import { startKubeApiServer, type KubeApiServer, type KubeApiServerOptions } from "@jwt-registry-auth/testkit/kube-apiserver/index";
import { createLogger, type Logger } from "./logger.ts";

export interface StandInCluster {
  readonly api: KubeApiServer;
  readonly kubeConfig: KubeConfig;
  readonly kubeconfigPath: string;
  readonly watch: Watch;
  close(): Promise<void>;
}

export async function standInCluster(options: KubeApiServerOptions = {}): Promise<StandInCluster> {
  const api = await startKubeApiServer(options);
  const dir = await mkdtemp(join(tmpdir(), "controller-test-"));
  const kubeconfigPath = await api.writeKubeconfig(join(dir, "kubeconfig"));
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  return {
    api,
    kubeConfig,
    kubeconfigPath,
    watch: new Watch(kubeConfig),
    close: async () => {
      await api.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A logger that keeps its lines for assertions (and prints nothing). */
export function memoryLogger(): Logger & { lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return Object.assign(createLogger("debug", (line) => lines.push(JSON.parse(line) as Record<string, unknown>)), { lines });
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
