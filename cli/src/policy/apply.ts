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
import { isDeepStrictEqual } from "node:util";
import type { Diagnostic } from "@jwt-registry-auth/core/providers/config";
import { policyApplyStatements, renderSqlScript, type SqlStatement } from "@jwt-registry-auth/core/providers/apply-statements";
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, parseCommandArgs, type Io } from "../io.ts";
import { diffProviders, formatDiff, readLiveProviders } from "./diff.ts";
import { STORE_HELP, STORE_OPTIONS, storeFromArgs } from "./history.ts";
import { InvalidPolicyFileError, loadValidPolicyFile, printDiagnostics, type PolicyFile } from "./load.ts";
import { claimSchemaDiagnostics } from "./validate.ts";
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
export async function applyPolicyFileLocal(options: LocalD1Options & { readonly file: string; readonly now?: Date; readonly policy?: PolicyFile }): Promise<ApplyResult> {
  // The policy the operator confirmed, when given: not the file re-read after the prompt.
  const policy = options.policy ?? loadValidPolicyFile(options.file);
  const target = await resolveLocalD1(options);
  const statements = statementsFor(policy, options.now ?? new Date());
  const version = await withLocalD1(target, async (db) => {
    await db.batch(statements.map((s) => db.prepare(s.sql).bind(...s.params)));
    return (await db.prepare("SELECT version FROM policy_version WHERE id = 1").first<{ version: number }>())?.version;
  });
  return { providers: policy.result.providers.map((p) => p.name), warnings: policy.result.warnings, ...(version !== undefined && { version }) };
}

/** The SQL file `--remote` runs: the same statements as a local apply, with escaped literals. */
export function remoteApplySql(file: string, now: Date = new Date(), loaded?: PolicyFile): { policy: PolicyFile; sql: string } {
  const policy = loaded ?? loadValidPolicyFile(file);
  return { policy, sql: renderSqlScript(statementsFor(policy, now)) };
}

/** The wrangler invocation for a remote apply of `sqlFile`. */
export function remoteApplyArgs(sqlFile: string, options: { readonly wranglerConfig?: string; readonly database?: string }): string[] {
  return [WRANGLER_BIN, "d1", "execute", options.database ?? "POLICY_DB", "--remote", "--file", sqlFile, "--config", options.wranglerConfig ?? "wrangler.toml"];
}

/** Runs the remote apply through wrangler (needs Cloudflare credentials); returns wrangler's exit code. */
export function applyPolicyFileRemote(options: { readonly file: string; readonly wranglerConfig?: string; readonly database?: string; readonly policy?: PolicyFile }): { result: ApplyResult; exitCode: number } {
  const { policy, sql } = remoteApplySql(options.file, new Date(), options.policy);
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

export const APPLY_HELP = `Usage: jwt-registry-auth policy apply FILE (--local|--remote) [--yes] [options]

Validates FILE (nothing is written if it has errors), shows what it would
change (as 'policy diff FILE' does) and asks "Apply? [y/N]"; only y or yes
applies. Applying replaces every provider and bumps the policy version in one
transaction, which also records the version (time, file hash, text,
providers) for 'policy history' and 'policy rollback'. Running token servers
pick the change up within seconds. When FILE changes nothing, nothing is
written. Without a terminal to ask on (scripts, CI) it refuses unless --yes
is given.
Exit status: 0 applied or nothing to apply, 1 errors, a failed apply or the
answer was not yes, 2 usage (including no terminal and no --yes).

  --yes              apply without asking (after printing the changes)
${STORE_HELP}`;

/** Providers in both whose conditions start on other file lines than the stored ones (which diff ignores). */
function movedConditions(stored: ReadonlyMap<string, string>, next: readonly PolicyFile["result"]["providers"][number][]): string[] {
  return next
    .filter((p) => {
      const old = stored.get(p.name);
      if (old === undefined) return false;
      try {
        return !isDeepStrictEqual((JSON.parse(old) as { sourceLines?: unknown }).sourceLines, p.sourceLines);
      } catch {
        return false; // diffProviders reports an unreadable row as a change
      }
    })
    .map((p) => p.name);
}

/** Whether the operator agreed: --yes, or "y"/"yes" typed at the prompt. Undefined when no one can be asked. */
async function confirmed(io: Io, yes: boolean): Promise<boolean | undefined> {
  if (yes) return true;
  if (io.ask === undefined) return undefined;
  return /^\s*y(es)?\s*$/i.test(await io.ask("Apply? [y/N] "));
}

export async function policyApplyCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { ...STORE_OPTIONS, yes: { type: "boolean" } }, { min: 1, max: 1, names: "FILE" });
  const store = storeFromArgs(values);
  const file = positionals[0] as string;
  try {
    const policy = loadValidPolicyFile(file);
    // The claim-schema findings `policy validate` reports (a misspelt claim, a string compared with a number): warnings here too, so they are seen before the file goes live.
    const schema = claimSchemaDiagnostics(file, policy.text, policy.result.providers);
    printDiagnostics(io, { providers: [], errors: [], warnings: [...policy.result.warnings, ...schema] });
    const live = await readLiveProviders(store);
    const diffs = diffProviders(live.providers, policy.result.providers);
    const moved = movedConditions(live.providers, policy.result.providers);
    if (diffs.length === 0 && moved.length === 0) {
      io.out(`${file}: no changes against the ${store.kind} D1 (policy version ${live.version}); nothing applied`);
      return EXIT_OK;
    }
    io.out(`${file} against the ${store.kind} D1 (policy version ${live.version}):`);
    if (diffs.length > 0) for (const line of formatDiff(diffs)) io.out(line);
    else io.out(`no policy changes, but conditions moved to other lines of the file (${moved.join(", ")}): applying keeps the lines refusals name right`);
    const agreed = await confirmed(io, values.yes === true);
    if (agreed === undefined) {
      io.err(`${file}: not applied: stdin is not a terminal, so there is no one to confirm; pass --yes to apply without asking`);
      return EXIT_USAGE;
    }
    if (!agreed) {
      io.err(`${file}: not applied`);
      return EXIT_FAILED;
    }
    const target = {
      file,
      policy,
      ...(values.config !== undefined && { wranglerConfig: values.config }),
      ...(values.database !== undefined && { database: values.database }),
    };
    if (store.kind === "remote") {
      const { result, exitCode } = applyPolicyFileRemote(target);
      if (exitCode !== 0) {
        io.err(`error: wrangler d1 execute --remote failed (exit ${exitCode}); nothing was applied by this command`);
        return EXIT_FAILED;
      }
      io.out(`applied ${result.providers.length} provider(s) to the remote D1: ${result.providers.join(", ")}`);
      return EXIT_OK;
    }
    const result = await applyPolicyFileLocal({ ...target, ...store.options });
    io.out(`applied ${result.providers.length} provider(s) to the local D1 (policy version ${result.version ?? "?"}): ${result.providers.join(", ")}`);
    return EXIT_OK;
  } catch (e) {
    if (e instanceof InvalidPolicyFileError) {
      printDiagnostics(io, { providers: [], warnings: [], errors: e.errors });
      io.err(`${file}: not applied: the file has errors`);
      return EXIT_FAILED;
    }
    io.err(`error: ${e instanceof Error ? e.message : String(e)}`);
    return EXIT_FAILED;
  }
}
