/**
 * Child processes for the harness: long-running servers (registry, wrangler)
 * in their own process group with output captured to a log file, and one-shot
 * commands (skopeo, docker, the CLI) with a timeout.
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { redactSecrets } from "./redact.ts";

export interface ManagedProcess {
  readonly pid: number;
  /** Everything the process wrote to stdout and stderr so far, secrets redacted. */
  logs(): string;
  /** Exit code (or signal name) once it has exited, else undefined. */
  exitStatus(): number | string | undefined;
  /** SIGTERM to the whole process group, SIGKILL after `graceMs`; resolves once it exited. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartProcessOptions {
  readonly command: string;
  readonly args: readonly string[];
  /** File that receives stdout and stderr. */
  readonly logFile: string;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** Processes started here and not stopped yet: killed if the test process exits without stopping them. */
const running = new Set<ManagedProcess>();
let exitHookInstalled = false;

function killAllRunning(): void {
  for (const child of running) {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  running.clear();
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", killAllRunning);
  // A test runner ending its worker with a signal skips "exit" handlers: clean
  // up, then re-raise so the signal still has its usual effect.
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      killAllRunning();
      process.kill(process.pid, signal);
    });
  }
}

/** Tools colour their output even when told not to; logs are read by people and regexes. */
export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching the ESC control character is the point
  return text.replace(/\u001b\[[0-9;]*[A-Za-z]/g, "");
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

export function startProcess(options: StartProcessOptions): ManagedProcess {
  installExitHook();
  const fd = openSync(options.logFile, "a");
  // detached: the child leads a new process group, so stop() also reaches its
  // children (wrangler runs workerd; a bare kill would orphan it).
  const child = spawn(options.command, [...options.args], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    detached: true,
    stdio: ["ignore", fd, fd],
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${options.command}`);
  const pid = child.pid;
  let status: number | string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.on("exit", (code, signal) => {
      status = code ?? signal ?? "unknown";
      resolve();
    });
    child.on("error", (error) => {
      status = `spawn error: ${error.message}`;
      resolve();
    });
  });
  const readLogs = (): string => (existsSync(options.logFile) ? redactSecrets(stripAnsi(readFileSync(options.logFile, "utf8"))) : "");

  const handle: ManagedProcess = {
    pid,
    logs: readLogs,
    exitStatus: () => status,
    async stop(graceMs = 5000) {
      running.delete(handle);
      if (status !== undefined) return;
      const signalGroup = (signal: NodeJS.Signals): void => {
        try {
          process.kill(-pid, signal);
        } catch {
          // the group is already gone
        }
      };
      signalGroup("SIGTERM");
      const timer = setTimeout(() => signalGroup("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
      // The leader may exit before its children; make sure none survive, and
      // wait until the group is gone so a port or directory is free on return.
      signalGroup("SIGKILL");
      for (let i = 0; i < 250 && groupAlive(pid); i++) await new Promise((r) => setTimeout(r, 20));
    },
  };
  running.add(handle);
  return handle;
}

export interface CommandResult {
  /** Exit code; null when killed (then `timedOut` says whether by the timeout). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly durationMs: number;
}

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
  /** Written to stdin, which is then closed (secrets go here, never in argv). */
  readonly input?: string;
}

/** Runs a command to completion. Never throws for a non-zero exit: callers assert on `code`. */
export function runCommand(command: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        // already exited
      }
    }, options.timeoutMs ?? 120_000);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`could not run ${command}: ${error.message}`));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({
        code,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        timedOut,
        durationMs: performance.now() - started,
      });
    });
    child.stdin.on("error", () => {
      // the command may exit without reading its input; the exit code tells
    });
    child.stdin.end(options.input ?? "");
  });
}

export interface WaitOptions {
  readonly timeoutMs: number;
  readonly intervalMs?: number;
  /** Stop waiting (and fail) as soon as this process has exited. */
  readonly process?: ManagedProcess;
  /** Names the thing waited for in the error. */
  readonly what: string;
  /** Returns a reason to give up now (e.g. a fatal line in the logs), or undefined to keep waiting. */
  readonly failure?: () => string | undefined;
}

/**
 * Polls `ready` until it returns true. On timeout, or if the watched process
 * exits first, throws an error that carries the process's captured logs.
 */
export async function waitUntil(ready: () => Promise<boolean>, options: WaitOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const exit = options.process?.exitStatus();
    if (exit !== undefined) throw new Error(`${options.what}: process exited (${exit}) before it was ready\n--- logs ---\n${options.process?.logs() ?? ""}`);
    const failure = options.failure?.();
    if (failure !== undefined) throw new Error(`${options.what}: ${failure}\n--- logs ---\n${options.process?.logs() ?? ""}`);
    if (await ready().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${options.what}: not ready after ${options.timeoutMs} ms\n--- logs ---\n${options.process?.logs() ?? ""}`);
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 100));
  }
}

/** True when `url` answers HTTP at all (any status), or with one of `statuses`. */
export async function answers(url: string, statuses?: readonly number[]): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await response.body?.cancel();
  return statuses === undefined || statuses.includes(response.status);
}
