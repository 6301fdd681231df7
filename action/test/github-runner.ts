/**
 * Runs a bundled step the way the GitHub runner does: `node <file>` with
 * `INPUT_*` variables, fresh `GITHUB_OUTPUT`/`GITHUB_STATE` files, and the
 * state of an earlier step handed back as `STATE_*`. Used by this workspace's
 * tests and by `e2e/action*.test.ts`.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const DIST_DIR = fileURLToPath(new URL("../dist/", import.meta.url));

/** Parses a `GITHUB_OUTPUT`/`GITHUB_STATE` file as the runner does: `name=value` lines and `name<<DELIM` blocks. */
export function parseFileCommands(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line === "") continue;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (!heredoc) {
      const eq = line.indexOf("=");
      if (eq <= 0) throw new Error(`malformed file command line ${i + 1}: ${line}`);
      values[line.slice(0, eq)] = line.slice(eq + 1);
      continue;
    }
    const name = heredoc[1] as string;
    const delimiter = heredoc[2] as string;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== delimiter; i++) body.push(lines[i] as string);
    if (i >= lines.length) throw new Error(`unterminated value for ${name}`);
    values[name] = body.join("\n");
  }
  return values;
}

export interface StepRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly outputs: Record<string, string>;
  readonly state: Record<string, string>;
  /** What the step exported for later steps: `GITHUB_ENV` variables and `GITHUB_PATH` directories. */
  readonly exported: Record<string, string>;
  readonly paths: string[];
  /** Values registered with `::add-mask::`. */
  readonly masks: string[];
  /** `::error::` messages. */
  readonly errors: string[];
  readonly warnings: string[];
  readonly elapsedMs: number;
}

export interface StepOptions {
  /** Action inputs by their action.yml name; the runner adds the action.yml defaults (see {@link ACTION_DEFAULTS}). */
  readonly inputs: Record<string, string>;
  /** Further environment (ACTIONS_ID_TOKEN_REQUEST_*, DOCKER_CONFIG, HOME…). */
  readonly env?: Record<string, string>;
  /** State saved by the main step, passed to post as STATE_*. */
  readonly state?: Record<string, string>;
  readonly timeoutMs?: number;
}

/** What action.yml declares as defaults; the runner sets these when the workflow omits the input. */
export const ACTION_DEFAULTS: Record<string, string> = { refresh: "auto", logout: "true", "credential-helper": "false" };

const commands = (stdout: string, command: string): string[] =>
  stdout
    .split(/\r?\n/)
    .filter((line) => line.startsWith(`::${command}::`))
    .map((line) =>
      line
        .slice(command.length + 4)
        .replace(/%0D/g, "\r")
        .replace(/%0A/g, "\n")
        .replace(/%25/g, "%"),
    );

export async function runStep(script: string, options: StepOptions): Promise<StepRun> {
  const dir = mkdtempSync(join(tmpdir(), "action-step-"));
  const outputFile = join(dir, "output");
  const stateFile = join(dir, "state");
  const envFile = join(dir, "env");
  const pathFile = join(dir, "path");
  for (const file of [outputFile, stateFile, envFile, pathFile]) writeFileSync(file, "");
  const env: Record<string, string> = {
    PATH: process.env["PATH"] ?? "/usr/bin:/bin",
    HOME: dir,
    GITHUB_ACTIONS: "true",
    GITHUB_OUTPUT: outputFile,
    GITHUB_STATE: stateFile,
    GITHUB_ENV: envFile,
    GITHUB_PATH: pathFile,
    RUNNER_TEMP: dir,
    ...options.env,
  };
  for (const [name, value] of Object.entries({ ...ACTION_DEFAULTS, ...options.inputs })) env[`INPUT_${name.replace(/ /g, "_").toUpperCase()}`] = value;
  for (const [name, value] of Object.entries(options.state ?? {})) env[`STATE_${name}`] = value;
  const started = performance.now();
  const { exitCode, stdout, stderr } = await new Promise<{ exitCode: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [script], { env, cwd: dir, timeout: options.timeoutMs ?? 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ exitCode: code, stdout, stderr });
    });
  });
  return {
    exitCode,
    stdout,
    stderr,
    outputs: parseFileCommands(readFileSync(outputFile, "utf8")),
    state: parseFileCommands(readFileSync(stateFile, "utf8")),
    exported: parseFileCommands(readFileSync(envFile, "utf8")),
    paths: readFileSync(pathFile, "utf8").split(/\r?\n/).filter((line) => line !== ""),
    masks: commands(stdout, "add-mask"),
    errors: commands(stdout, "error"),
    warnings: commands(stdout, "warning"),
    elapsedMs: performance.now() - started,
  };
}
