/**
 * The workload's own OIDC token, from wherever its platform puts it: the
 * GitHub Actions request endpoint, a file (a Kubernetes projected
 * service-account token, a SPIFFE JWT-SVID, a GitLab `id_tokens` value written
 * out), an environment variable (GitLab `id_tokens`, CircleCI
 * `CIRCLE_OIDC_TOKEN_V2`), or a command (`buildkite-agent oidc request-token`,
 * `circleci run oidc get`). Read fresh on every mint: these tokens are short-lived.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { requestActionsIdToken } from "@jwt-registry-auth/client/actions-oidc";
import type { Env } from "@jwt-registry-auth/client/env";
import type { Fetch, RetryOptions } from "@jwt-registry-auth/client/http";
import { isCompactJwt } from "@jwt-registry-auth/client/jwt";
import type { TokenSource } from "./config.ts";

export class TokenSourceError extends Error {
  override readonly name = "TokenSourceError";
}

/** The source a registry without an explicit `token` uses: the CI this runs in, told apart by its variables. */
export function detectTokenSource(env: Env, audience: string): TokenSource | undefined {
  if (env["ACTIONS_ID_TOKEN_REQUEST_URL"] && env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]) return { kind: "github", audience };
  if (env["CIRCLE_OIDC_TOKEN_V2"]) return { kind: "env", name: "CIRCLE_OIDC_TOKEN_V2" };
  if (env["BUILDKITE_AGENT_ACCESS_TOKEN"]) return { kind: "command", argv: ["buildkite-agent", "oidc", "request-token", "--audience", audience] };
  return undefined;
}

export function describeTokenSource(source: TokenSource): string {
  switch (source.kind) {
    case "github":
      return "the GitHub Actions OIDC endpoint";
    case "file":
      return `file ${source.path}`;
    case "env":
      return `environment variable ${source.name}`;
    case "command":
      return `command ${source.argv[0] ?? ""}`;
  }
}

const MAX_TOKEN_BYTES = 64 * 1024;
const COMMAND_TIMEOUT_MS = 30_000;

function runTokenCommand(argv: readonly string[], env: Env): Promise<string> {
  const [program, ...args] = argv as [string, ...string[]];
  return new Promise((resolve, reject) => {
    // No shell: the argv is the user's, word for word.
    execFile(program, args, { env: env as NodeJS.ProcessEnv, timeout: COMMAND_TIMEOUT_MS, maxBuffer: MAX_TOKEN_BYTES, encoding: "utf8" }, (error, stdout, stderr) => {
      if (error === null) return resolve(stdout);
      const firstLine = stderr.split("\n").find((line) => line.trim() !== "")?.trim().slice(0, 200);
      const status = error.killed ? `timed out after ${COMMAND_TIMEOUT_MS / 1000} s` : typeof error.code === "number" ? `exit ${error.code}` : error.message;
      reject(new TokenSourceError(`token command ${program} failed (${status})${firstLine ? `: ${firstLine}` : ""}`));
    });
  });
}

async function readRaw(source: TokenSource, env: Env, fetchImpl: Fetch, retry: RetryOptions): Promise<string> {
  switch (source.kind) {
    case "github":
      // The audience is always set by the caller's defaulting (the registry's service).
      return requestActionsIdToken(env, source.audience ?? "", fetchImpl, retry);
    case "file":
      try {
        return readFileSync(source.path, "utf8").slice(0, MAX_TOKEN_BYTES + 1);
      } catch (error) {
        throw new TokenSourceError(`cannot read the token file ${source.path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      }
    case "env": {
      const value = env[source.name];
      if (value === undefined || value === "") throw new TokenSourceError(`environment variable ${source.name} is not set or empty`);
      return value;
    }
    case "command":
      return runTokenCommand(source.argv, env);
  }
}

export async function readWorkloadToken(source: TokenSource, env: Env, fetchImpl: Fetch = fetch, retry: RetryOptions = {}): Promise<string> {
  const token = (await readRaw(source, env, fetchImpl, retry)).trim();
  // Never echo it: only say what is wrong with it.
  if (token.length > MAX_TOKEN_BYTES) throw new TokenSourceError(`the token from ${describeTokenSource(source)} is larger than ${MAX_TOKEN_BYTES} bytes`);
  if (!isCompactJwt(token)) throw new TokenSourceError(`the token from ${describeTokenSource(source)} is not a JWT`);
  return token;
}
