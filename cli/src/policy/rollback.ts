/**
 * `policy rollback VERSION`: restore a recorded version's providers with the
 * statements `policy apply` runs (core/src/providers/apply-statements.ts), fed
 * the stored provider JSON, hash and text instead of a file's: one D1 batch
 * locally, one SQL file remotely, so D1 holds the old set or the restored one,
 * never a mix. The restore is itself a new version that records which one it
 * rolled back to. Provider ids (and so refresh tokens) follow the apply's
 * rule, because it is the same upsert.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import type { ProviderConfig } from "@jwt-registry-auth/core/providers/model";
import { policyApplyStatements, renderSqlScript, type SqlStatement } from "@jwt-registry-auth/core/providers/apply-statements";
import { EXIT_FAILED, EXIT_OK, parseCommandArgs, type Io } from "../io.ts";
import { remoteApplyArgs } from "./apply.ts";
import { parseVersion, readStoredVersion, STORE_HELP, STORE_OPTIONS, storeFromArgs, type PolicyStore, type StoredVersion } from "./history.ts";
import { QUIET_ENV, resolveLocalD1, withLocalD1 } from "./local-d1.ts";

export class NoSuchVersionError extends Error {
  override readonly name = "NoSuchVersionError";
  constructor(readonly version: number) {
    super(`no policy version ${version} is recorded ('policy history' lists them); nothing was changed`);
  }
}

/** The apply statements that restore `stored`, recorded as a rollback of it. */
export function rollbackStatements(stored: StoredVersion, now: Date): SqlStatement[] {
  if (stored.providers.length !== stored.entry.providerCount) {
    throw new Error(`version ${stored.entry.version} records ${stored.entry.providerCount} provider(s) but ${stored.providers.length} are stored; not restoring it`);
  }
  // The stored JSON is what the apply wrote (JSON.stringify of the normalized
  // config), so stringifying it again in policyApplyStatements gives the same text.
  const providers = stored.providers.map((p) => JSON.parse(p.config) as ProviderConfig);
  return policyApplyStatements(providers, {
    appliedAt: now.toISOString(),
    sourceSha256: stored.entry.sourceSha256,
    ...(stored.sourceText !== null && { sourceText: stored.sourceText }),
    rollbackOf: stored.entry.version,
  });
}

async function storedOrThrow(store: PolicyStore, version: number): Promise<StoredVersion> {
  const stored = await readStoredVersion(store, version);
  if (stored === undefined) throw new NoSuchVersionError(version);
  return stored;
}

export interface RollbackResult {
  readonly restored: StoredVersion;
  /** The new policy version (local only). */
  readonly version?: number;
}

/** Rolls the local D1 back to `version` in one batch. Throws NoSuchVersionError (nothing written) for an unknown version. */
export async function rollbackLocal(options: PolicyStore & { kind: "local" }, version: number, now: Date = new Date()): Promise<RollbackResult> {
  const restored = await storedOrThrow(options, version);
  const statements = rollbackStatements(restored, now);
  const target = await resolveLocalD1(options.options);
  const after = await withLocalD1(target, async (db) => {
    await db.batch(statements.map((s) => db.prepare(s.sql).bind(...s.params)));
    return (await db.prepare("SELECT version FROM policy_version WHERE id = 1").first<{ version: number }>())?.version;
  });
  return { restored, ...(after !== undefined && { version: after }) };
}

/** The SQL file a remote rollback runs (read from the remote history first). */
export async function remoteRollbackSql(store: PolicyStore, version: number, now: Date = new Date()): Promise<{ restored: StoredVersion; sql: string }> {
  const restored = await storedOrThrow(store, version);
  return { restored, sql: renderSqlScript(rollbackStatements(restored, now)) };
}

export const ROLLBACK_HELP = `Usage: jwt-registry-auth policy rollback VERSION (--local|--remote) [options]

Restores the providers of recorded policy version VERSION ('policy history'
lists them) all-or-nothing, with the same statements as 'policy apply', and
records the result as a new version marked "rollback of VERSION". Refresh
tokens follow the apply's rule: a provider keeps its id (and its tokens) if
its name and issuer are unchanged and refresh stayed on.
Exit status: 0 restored, 1 failed (nothing changed), 2 usage.

${STORE_HELP}`;

export async function policyRollbackCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, STORE_OPTIONS, { min: 1, max: 1, names: "VERSION" });
  const version = parseVersion(positionals[0] as string);
  const store = storeFromArgs(values);
  try {
    if (store.kind === "local") {
      const { restored, version: after } = await rollbackLocal(store, version);
      io.out(
        `rolled the local D1 back to version ${version} (${restored.providers.length} provider(s): ${restored.providers.map((p) => p.name).join(", ")}); it is policy version ${after ?? "?"}, a rollback of ${version}`,
      );
      return EXIT_OK;
    }
    const { restored, sql } = await remoteRollbackSql(store, version);
    const dir = mkdtempSync(join(tmpdir(), "jra-rollback-"));
    try {
      const sqlFile = join(dir, "rollback.sql");
      writeFileSync(sqlFile, sql);
      const run = spawnSync(process.execPath, remoteApplyArgs(sqlFile, store), { stdio: "inherit", env: { ...process.env, ...QUIET_ENV } });
      if (run.status !== 0) {
        io.err(`error: wrangler d1 execute --remote failed (exit ${run.status ?? run.signal}); nothing was changed by this command`);
        return EXIT_FAILED;
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    io.out(`rolled the remote D1 back to version ${version} (${restored.providers.length} provider(s): ${restored.providers.map((p) => p.name).join(", ")}), recorded as a rollback of ${version}`);
    return EXIT_OK;
  } catch (e) {
    io.err(`error: ${e instanceof Error ? e.message : String(e)}`);
    return EXIT_FAILED;
  }
}
