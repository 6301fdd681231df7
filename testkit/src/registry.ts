/**
 * A real Distribution registry (Debian `docker-registry`, 2.8.2) on loopback,
 * with a generated config in its own temp dir: filesystem storage there, logs
 * captured there, health checks off.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { hashSync } from "bcryptjs";
import { freePort } from "./ports.ts";
import { answers, startProcess, waitUntil, type ManagedProcess } from "./process.ts";
import { makeTempDir, removeDir } from "./temp-dir.ts";

export type RegistryAuth =
  | { readonly kind: "none" }
  /** username → password; written bcrypt-hashed (the only hash Distribution accepts). */
  | { readonly kind: "htpasswd"; readonly users: Readonly<Record<string, string>> }
  | {
      readonly kind: "token";
      /** The token server's token endpoint, e.g. `http://127.0.0.1:P/token`. */
      readonly realm: string;
      readonly service: string;
      /** Must equal the token server's TOKEN_ISSUER. */
      readonly issuer: string;
      /** PEM certificate(s) the registry trusts for token signatures. */
      readonly rootCertBundlePath: string;
    };

export interface RegistryOptions {
  readonly auth: RegistryAuth;
  /** Default: a free loopback port. */
  readonly port?: number;
  /** Distribution log level (default "info": one access-log line per request). */
  readonly logLevel?: "debug" | "info" | "warn" | "error";
  /** Keep the temp dir after stop() (for debugging). */
  readonly keepDir?: boolean;
}

export interface Registry {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** `127.0.0.1:PORT`: what image references and docker configs use. */
  readonly host: string;
  readonly port: number;
  /** The config file the registry runs with. */
  readonly configPath: string;
  /** Captured stdout/stderr (access log included). */
  logs(): string;
  /** Repositories that have anything on disk (layers, manifests or uploads). */
  storedRepositories(): string[];
  stop(): Promise<void>;
}

const REGISTRY_BINARY = "/usr/bin/docker-registry";

function authSection(auth: RegistryAuth, dir: string): Record<string, unknown> | undefined {
  switch (auth.kind) {
    case "none":
      return undefined;
    case "htpasswd": {
      const path = join(dir, "htpasswd");
      const lines = Object.entries(auth.users).map(([user, password]) => `${user}:${hashSync(password, 5)}`);
      writeFileSync(path, `${lines.join("\n")}\n`, { mode: 0o600 });
      return { htpasswd: { realm: "jwt-registry-auth-test", path } };
    }
    case "token":
      return { token: { realm: auth.realm, service: auth.service, issuer: auth.issuer, rootcertbundle: auth.rootCertBundlePath } };
  }
}

/** The registry config as an object; YAML is a superset of JSON, so it is written as JSON. */
export function registryConfig(options: { auth: RegistryAuth; port: number; dir: string; logLevel?: string }): Record<string, unknown> {
  const auth = authSection(options.auth, options.dir);
  return {
    version: 0.1,
    log: { level: options.logLevel ?? "info", formatter: "text", accesslog: { disabled: false } },
    storage: {
      filesystem: { rootdirectory: join(options.dir, "storage") },
      delete: { enabled: true },
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: { addr: `127.0.0.1:${options.port}`, secret: randomBytes(24).toString("hex") },
    health: { storagedriver: { enabled: false } },
    ...(auth !== undefined && { auth }),
  };
}

function repositoriesUnder(root: string): string[] {
  if (!existsSync(root)) return [];
  const found: string[] = [];
  const walk = (dir: string): void => {
    const entries = readdirSync(dir);
    if (entries.some((e) => e === "_layers" || e === "_manifests" || e === "_uploads")) found.push(relative(root, dir));
    for (const entry of entries) {
      if (entry.startsWith("_")) continue;
      const child = join(dir, entry);
      if (statSync(child).isDirectory()) walk(child);
    }
  };
  walk(root);
  return found.sort();
}

async function startOnce(options: RegistryOptions, port: number): Promise<Registry> {
  const dir = makeTempDir("registry");
  const configPath = join(dir, "config.yml");
  writeFileSync(configPath, JSON.stringify(registryConfig({ auth: options.auth, port, dir, ...(options.logLevel && { logLevel: options.logLevel }) }), null, 2));
  let child: ManagedProcess;
  try {
    child = startProcess({ command: REGISTRY_BINARY, args: ["serve", configPath], logFile: join(dir, "registry.log"), cwd: dir });
  } catch (error) {
    removeDir(dir);
    throw error;
  }
  let finalLogs: string | undefined;
  const url = `http://127.0.0.1:${port}`;
  const registry: Registry = {
    url,
    host: `127.0.0.1:${port}`,
    port,
    configPath,
    logs: () => finalLogs ?? child.logs(),
    storedRepositories: () => repositoriesUnder(join(dir, "storage", "docker", "registry", "v2", "repositories")),
    async stop() {
      await child.stop();
      finalLogs ??= child.logs();
      if (options.keepDir !== true) removeDir(dir);
    },
  };
  try {
    // Its own "listening" line first (another server could answer on that port),
    // then `/v2/`, which answers 200 without auth and 401 with it.
    await waitUntil(async () => child.logs().includes(`listening on 127.0.0.1:${port}`) && (await answers(`${url}/v2/`, [200, 401])), { timeoutMs: 15_000, process: child, what: `docker-registry on ${url}` });
  } catch (error) {
    await registry.stop();
    throw error;
  }
  return registry;
}

/** Starts the registry and waits until `/v2/` answers. Start failures carry the registry's logs. */
export async function startRegistry(options: RegistryOptions): Promise<Registry> {
  if (options.port !== undefined) return startOnce(options, options.port);
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options, await freePort());
    } catch (error) {
      // Another process took the free port between freePort() and bind: try another.
      if (attempt >= 3 || !String(error).includes("address already in use")) throw error;
    }
  }
}
