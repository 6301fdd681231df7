/**
 * A Worker under `wrangler dev` on loopback, offline, with its settings from a
 * per-run env file and its local D1/KV in a per-run `--persist-to` directory.
 *
 * Settings go through `--env-file` (dotenv syntax, double-quoted values may span
 * lines): unlike `--var KEY:VALUE` it carries multi-line PEMs intact, and unlike
 * a `.dev.vars` beside the config it is private to this run. With `--env-file`
 * wrangler does not read `.dev.vars`, so a developer's own file never leaks in.
 *
 * Clients reach it through the TLS-refusing front (tls-refusing-front.ts), as
 * they reach `npm start`: docker and skopeo then talk to the Worker directly,
 * the way they talk to Distribution, while workerd itself listens on a port of
 * its own that only the front uses.
 */
import { chmodSync, writeFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { freePort } from "./ports.ts";
import { answers, runCommand, startProcess, waitUntil, type CommandResult } from "./process.ts";
import { REPO_ROOT } from "./repo-root.ts";
import { makeTempDir, removeDir } from "./temp-dir.ts";
import { startTlsRefusingFront } from "./tls-refusing-front.ts";

const WRANGLER = join(REPO_ROOT, "node_modules", "wrangler", "bin", "wrangler.js");

/** The environment every wrangler run gets: no network calls to Cloudflare. */
export function wranglerEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV: "true",
    CLOUDFLARE_INCLUDE_PROCESS_ENV: "false",
    WRANGLER_LOG_SANITIZE: "true",
    CI: "true",
    NO_COLOR: "1",
    FORCE_COLOR: "0",
  };
}

function configPathOf(config: string): string {
  return isAbsolute(config) ? config : join(REPO_ROOT, config);
}

/** Serializes settings as a dotenv file; rejects values dotenv can't carry verbatim. */
export function dotenvText(vars: Readonly<Record<string, string>>): string {
  return Object.entries(vars)
    .map(([key, value]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new Error(`invalid setting name ${JSON.stringify(key)}`);
      // Inside double quotes dotenv expands \n and ends the value at a quote; keep values that survive that unchanged.
      if (/["\\]|\r/.test(value)) throw new Error(`setting ${key}: values with quotes, backslashes or CR are not supported`);
      return `${key}="${value}"`;
    })
    .join("\n")
    .concat("\n");
}

/** `wrangler d1 migrations apply BINDING --local --persist-to DIR`. */
export async function applyD1Migrations(options: { config: string; persistTo: string; binding?: string }): Promise<CommandResult> {
  const result = await runCommand(
    process.execPath,
    [WRANGLER, "d1", "migrations", "apply", options.binding ?? "POLICY_DB", "--local", "--persist-to", options.persistTo, "--config", configPathOf(options.config)],
    { cwd: REPO_ROOT, env: wranglerEnv(), timeoutMs: 120_000 },
  );
  if (result.code !== 0) throw new Error(`wrangler d1 migrations apply failed (${result.code}):\n${result.stdout}\n${result.stderr}`);
  return result;
}

export interface WranglerOptions {
  /** Path of the wrangler config, relative to the repo root or absolute: "wrangler.toml", "proxy-worker/wrangler.toml". */
  readonly config: string;
  /** Local D1/KV/etc. state directory (unique per run). */
  readonly persistTo: string;
  /** Settings; they override the config's `[vars]`. */
  readonly vars?: Readonly<Record<string, string>>;
  /** An extra dotenv file loaded before `vars` (which win). */
  readonly envFile?: string;
  /** The port clients use (the front's); default: a free one. */
  readonly port?: number;
  /** The path polled until it answers 200 (default `/healthz`). */
  readonly readyPath?: string;
  readonly readyTimeoutMs?: number;
}

export interface WranglerWorker {
  /** `http://127.0.0.1:PORT`: the front, what clients use. */
  readonly url: string;
  readonly port: number;
  /** workerd's own `http://127.0.0.1:PORT` behind the front (it stalls a TLS ClientHello). */
  readonly workerdUrl: string;
  /** wrangler's PID, also its process group (workerd runs in it). */
  readonly pid: number;
  /** wrangler's output, including the Worker's console logs. */
  logs(): string;
  stop(): Promise<void>;
}

async function startOnce(options: WranglerOptions, workerdPort: number): Promise<WranglerWorker> {
  const front = await startTlsRefusingFront({ port: options.port ?? 0, targetPort: workerdPort });
  const dir = makeTempDir("wrangler");
  const envFile = join(dir, "settings.env");
  writeFileSync(envFile, dotenvText(options.vars ?? {}), { mode: 0o600 });
  chmodSync(envFile, 0o600);
  const args = [
    WRANGLER,
    "dev",
    "--config",
    configPathOf(options.config),
    "--ip",
    "127.0.0.1",
    "--port",
    String(workerdPort),
    "--inspector-port",
    String(await freePort()),
    "--persist-to",
    options.persistTo,
    ...(options.envFile !== undefined ? ["--env-file", options.envFile] : []),
    "--env-file",
    envFile,
    "--show-interactive-dev-session=false",
    "--live-reload=false",
  ];
  const child = startProcess({ command: process.execPath, args, logFile: join(dir, "wrangler.log"), cwd: REPO_ROOT, env: wranglerEnv() });
  let finalLogs: string | undefined;
  const workerdUrl = `http://127.0.0.1:${workerdPort}`;
  const worker: WranglerWorker = {
    url: front.url,
    port: front.port,
    workerdUrl,
    pid: child.pid,
    logs: () => finalLogs ?? child.logs(),
    async stop() {
      await front.close();
      await child.stop();
      finalLogs ??= child.logs();
      removeDir(dir);
    },
  };
  try {
    // Its own "Ready on" line first (another server could answer on that port), then the ready path through the front.
    await waitUntil(async () => child.logs().includes(`Ready on ${workerdUrl}`) && (await answers(`${front.url}${options.readyPath ?? "/healthz"}`, [200])), {
      timeoutMs: options.readyTimeoutMs ?? 60_000,
      intervalMs: 250,
      process: child,
      what: `wrangler dev ${options.config} on ${workerdUrl} (front ${front.url})`,
      // wrangler keeps running (waiting for a fix) after a build error: give up at once.
      failure: () => (/Build failed|\[ERROR\]/.test(child.logs()) ? "wrangler reported an error" : undefined),
    });
  } catch (error) {
    await worker.stop();
    throw error;
  }
  return worker;
}

/** Starts `wrangler dev` behind its front and waits until the ready path answers 200. Start failures carry wrangler's output. */
export async function startWrangler(options: WranglerOptions): Promise<WranglerWorker> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options, await freePort());
    } catch (error) {
      if (attempt >= 3 || !/address already in use|EADDRINUSE/i.test(String(error))) throw error;
    }
  }
}
