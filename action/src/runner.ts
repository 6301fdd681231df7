/**
 * The GitHub Actions runner protocol, the part this Action needs. It is small
 * and stable, so it is spoken directly instead of bundling `@actions/core`:
 * inputs arrive as `INPUT_<NAME>` variables, outputs and state are appended to
 * the files named by `GITHUB_OUTPUT` / `GITHUB_STATE` as `name<<DELIM` blocks
 * (state comes back to the post step as `STATE_<name>`), variables for later
 * steps to `GITHUB_ENV` the same way, directories for later steps' `PATH` to
 * `GITHUB_PATH` one per line, and masking, warnings
 * and errors are `::command::` lines on stdout.
 */
import { appendFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { EOL } from "node:os";
import type { Env } from "@jwt-registry-auth/client/env";

export type { Env } from "@jwt-registry-auth/client/env";

/** `INPUT_<NAME>`: spaces become `_`, upper-cased, hyphens kept (as the runner does); trimmed. */
export function getInput(env: Env, name: string): string {
  return (env[`INPUT_${name.replace(/ /g, "_").toUpperCase()}`] ?? "").trim();
}

export function getState(env: Env, name: string): string {
  return env[`STATE_${name}`] ?? "";
}

/** Escapes a workflow-command message so a newline or `%` cannot end or forge a command. */
export function escapeCommandData(value: string): string {
  return value.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

/**
 * One `name<<DELIM` block. The delimiter is random so a value cannot close it
 * early; a value containing it anyway is refused rather than written corrupt.
 */
export function fileCommandBlock(name: string, value: string, delimiter = `ghadelimiter_${randomUUID()}`): string {
  if (name.includes(delimiter) || value.includes(delimiter)) {
    throw new Error(`refusing to write ${name}: its value contains the delimiter`);
  }
  return `${name}<<${delimiter}${EOL}${value}${EOL}${delimiter}${EOL}`;
}

/** Where a step writes: stdout for commands and logs, the runner's files for outputs and state. */
export interface Runner {
  info(message: string): void;
  warning(message: string): void;
  error(message: string): void;
  /** Registers a secret: the runner replaces it with `***` in every later log line. */
  mask(secret: string): void;
  setOutput(name: string, value: string): void;
  saveState(name: string, value: string): void;
  /** Sets an environment variable for the job's later steps (not this one). */
  exportVariable(name: string, value: string): void;
  /** Prepends a directory to `PATH` for the job's later steps. */
  addPath(dir: string): void;
}

export function githubRunner(env: Env, write: (line: string) => void = (line) => process.stdout.write(line + EOL)): Runner {
  const fileOf = (variable: string): string => {
    const file = env[variable];
    if (!file) throw new Error(`${variable} is not set: this must run as a GitHub Actions step`);
    return file;
  };
  const appendTo = (variable: "GITHUB_OUTPUT" | "GITHUB_STATE" | "GITHUB_ENV", name: string, value: string): void => {
    appendFileSync(fileOf(variable), fileCommandBlock(name, value), { encoding: "utf8" });
  };
  return {
    info: (message) => write(message),
    warning: (message) => write(`::warning::${escapeCommandData(message)}`),
    error: (message) => write(`::error::${escapeCommandData(message)}`),
    mask: (secret) => {
      // Each line is masked on its own: a multi-line secret needs every line registered.
      for (const line of secret.split(/\r?\n/)) if (line.trim() !== "") write(`::add-mask::${escapeCommandData(line)}`);
    },
    setOutput: (name, value) => appendTo("GITHUB_OUTPUT", name, value),
    saveState: (name, value) => appendTo("GITHUB_STATE", name, value),
    exportVariable: (name, value) => appendTo("GITHUB_ENV", name, value),
    addPath: (dir) => {
      if (/[\r\n]/.test(dir)) throw new Error(`refusing to add ${JSON.stringify(dir)} to PATH: it contains a line break`);
      appendFileSync(fileOf("GITHUB_PATH"), `${dir}${EOL}`, { encoding: "utf8" });
    },
  };
}

