/**
 * `policy apply`: validate, then replace every provider and bump the policy
 * version all-or-nothing. Locally that is one D1 batch (a transaction) on the
 * database `wrangler dev` reads; remotely one SQL file run by
 * `wrangler d1 execute --remote --file`. Also the library entry point for
 * `npm start`, e2e and bench harnesses.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Diagnostic } from "@jwt-registry-auth/core/providers/config";
import { policyApplyStatements, renderSqlScript, type SqlStatement } from "@jwt-registry-auth/core/providers/apply-statements";
import { loadValidPolicyFile, type PolicyFile } from "./load.ts";
import { QUIET_ENV, resolveLocalD1, withLocalD1, WRANGLER_BIN, type LocalD1Options } from "./local-d1.ts";

export interface ApplyResult {
  readonly providers: readonly string[];
  readonly warnings: readonly Diagnostic[];
  /** The policy version after the apply (local only; remote prints wrangler's output). */
  readonly version?: number;
}

function statementsFor(policy: PolicyFile, now: Date): SqlStatement[] {
  return policyApplyStatements(policy.result.providers, { appliedAt: now.toISOString(), sourceSha256: policy.sha256, sourceText: policy.text });
}

/**
 * Applies a providers file to the local D1. Throws InvalidPolicyFileError
 * (nothing written) when the file has errors.
 */
export async function applyPolicyFileLocal(options: LocalD1Options & { readonly file: string; readonly now?: Date }): Promise<ApplyResult> {
  const policy = loadValidPolicyFile(options.file);
  const target = await resolveLocalD1(options);
  const statements = statementsFor(policy, options.now ?? new Date());
  const version = await withLocalD1(target, async (db) => {
    await db.batch(statements.map((s) => db.prepare(s.sql).bind(...s.params)));
    return (await db.prepare("SELECT version FROM policy_version WHERE id = 1").first<{ version: number }>())?.version;
  });
  return { providers: policy.result.providers.map((p) => p.name), warnings: policy.result.warnings, ...(version !== undefined && { version }) };
}

/** The SQL file `--remote` runs: the same statements as a local apply, with escaped literals. */
export function remoteApplySql(file: string, now: Date = new Date()): { policy: PolicyFile; sql: string } {
  const policy = loadValidPolicyFile(file);
  return { policy, sql: renderSqlScript(statementsFor(policy, now)) };
}

/** The wrangler invocation for a remote apply of `sqlFile`. */
export function remoteApplyArgs(sqlFile: string, options: { readonly wranglerConfig?: string; readonly database?: string }): string[] {
  return [WRANGLER_BIN, "d1", "execute", options.database ?? "POLICY_DB", "--remote", "--file", sqlFile, "--config", options.wranglerConfig ?? "wrangler.toml"];
}

/** Runs the remote apply through wrangler (needs Cloudflare credentials); returns wrangler's exit code. */
export function applyPolicyFileRemote(options: { readonly file: string; readonly wranglerConfig?: string; readonly database?: string }): { result: ApplyResult; exitCode: number } {
  const { policy, sql } = remoteApplySql(options.file);
  const dir = mkdtempSync(join(tmpdir(), "jra-policy-"));
  try {
    const sqlFile = join(dir, "apply.sql");
    writeFileSync(sqlFile, sql);
    const run = spawnSync(process.execPath, remoteApplyArgs(sqlFile, options), { stdio: "inherit", env: { ...process.env, ...QUIET_ENV } });
    return { result: { providers: policy.result.providers.map((p) => p.name), warnings: policy.result.warnings }, exitCode: run.status ?? 1 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
