/**
 * `jwt-registry-auth-controller`: flags → config, kubeconfig (flag,
 * $KUBECONFIG, ~/.kube/config or in-cluster), run until SIGTERM/SIGINT, then
 * shut down gracefully. Exit codes: 0 clean shutdown, 1 runtime failure,
 * 2 bad flags.
 */
import { KubeConfig } from "@kubernetes/client-node";
import { ConfigError, parseConfig, USAGE } from "./config.ts";
import { Controller } from "./controller.ts";
import { createLogger } from "./logger.ts";

const SHUTDOWN_TIMEOUT_MS = 25_000;

async function main(argv: readonly string[]): Promise<void> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(USAGE);
    return;
  }
  let config;
  try {
    config = parseConfig(argv, process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`jwt-registry-auth-controller: ${error.message}\n`);
    process.exitCode = 2;
    return;
  }
  const log = createLogger(config.logLevel);
  const kubeConfig = new KubeConfig();
  if (config.kubeconfig !== undefined) kubeConfig.loadFromFile(config.kubeconfig);
  else kubeConfig.loadFromDefault();

  const controller = new Controller({ config, kubeConfig, log });
  let stopping: Promise<void> | undefined;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    log.info("shutting down", { signal });
    const timeout = setTimeout(() => {
      log.error("shutdown timed out; exiting");
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS);
    stopping = controller.stop().then(() => {
      clearTimeout(timeout);
      log.info("stopped");
    });
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));

  await controller.start();
  log.info("started", {
    listen: `${controller.address?.host}:${controller.address?.port}`,
    server: kubeConfig.getCurrentCluster()?.server,
    registries: config.registries.map((r) => ({ host: r.host, provider: r.provider, audience: r.audience, durationSeconds: r.durationSeconds })),
    namespaces: config.namespaces,
    leaderElection: config.leaderElection.enabled ? { lease: `${config.leaderElection.namespace}/${config.leaderElection.name}`, identity: config.leaderElection.identity } : false,
  });
}

main(process.argv.slice(2)).catch((error: unknown) => {
  createLogger("error").error("controller failed", { error });
  process.exit(1);
});
