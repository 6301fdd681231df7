/**
 * `policy history`, and what `diff` and `rollback` share with it: reading the
 * policy store, locally through Miniflare (as apply does) or remotely through
 * `wrangler d1 execute --remote --json --command`, which answers the same JSON
 * as its `--local` form, so the remote path is tested by running it locally.
 */
import { spawnSync } from "node:child_process";
import { sqlLiteral } from "@jwt-registry-auth/core/providers/apply-statements";
import { EXIT_FAILED, EXIT_OK, parseCommandArgs, UsageError, type Io } from "../io.ts";
import { QUIET_ENV, resolveLocalD1, withLocalD1, WRANGLER_BIN, type LocalD1Options } from "./local-d1.ts";

/** Where a command reads and writes: the local D1 `wrangler dev` reads, or the deployed one. */
export type PolicyStore =
  | { readonly kind: "local"; readonly options: LocalD1Options }
  | { readonly kind: "remote"; readonly wranglerConfig?: string; readonly database?: string; readonly persistTo?: undefined };

export const STORE_OPTIONS = {
  local: { type: "boolean" },
  remote: { type: "boolean" },
  config: { type: "string" },
  database: { type: "string" },
  "persist-to": { type: "string" },
} as const;

export const STORE_HELP = `  --local            the local D1 that 'wrangler dev' reads (migrations are applied if missing)
  --remote           the deployed D1, via 'wrangler d1 execute --remote'
  --config PATH      wrangler config (default wrangler.toml)
  --database NAME    D1 binding or database name (default POLICY_DB)
  --persist-to DIR   local state directory, as 'wrangler dev --persist-to DIR' (default .wrangler/state beside the config)`;

/** The store named by --local/--remote and their options; a UsageError unless exactly one is given. */
export function storeFromArgs(values: { local?: boolean; remote?: boolean; config?: string; database?: string; "persist-to"?: string }): PolicyStore {
  if (values.local === values.remote) throw new UsageError("give exactly one of --local and --remote");
  const common = { ...(values.config !== undefined && { wranglerConfig: values.config }), ...(values.database !== undefined && { database: values.database }) };
  if (values.remote) {
    if (values["persist-to"] !== undefined) throw new UsageError("--persist-to is for --local");
    return { kind: "remote", ...common };
  }
  return { kind: "local", options: { ...common, ...(values["persist-to"] !== undefined && { persistTo: values["persist-to"] }) } };
}

/** The wrangler invocation that runs `sql` (one or more statements) and prints each one's rows as JSON. */
export function wranglerQueryArgs(sql: string, options: { readonly wranglerConfig?: string; readonly database?: string; readonly local?: { readonly persistTo?: string } }): string[] {
  const where = options.local === undefined ? ["--remote"] : ["--local", ...(options.local.persistTo !== undefined ? ["--persist-to", options.local.persistTo] : [])];
  return [WRANGLER_BIN, "d1", "execute", options.database ?? "POLICY_DB", ...where, "--json", "--command", sql, "--config", options.wranglerConfig ?? "wrangler.toml"];
}

/** What a missing table means: the database predates the migration. */
function explainD1Error(message: string, store: PolicyStore): string {
  if (!/no such table: policy_history/.test(message)) return message;
  const where = store.kind === "remote" ? "--remote" : "--local";
  return `${message}\nthe database has no policy history yet: run 'wrangler d1 migrations apply ${store.kind === "remote" ? (store.database ?? "POLICY_DB") : (store.options.database ?? "POLICY_DB")} ${where}' (or any 'policy apply --local', which migrates first)`;
}

/** Runs a wrangler query invocation and returns one row list per statement. */
export function runWranglerQuery(args: readonly string[]): unknown[][] {
  const run = spawnSync(process.execPath, args, { env: { ...process.env, ...QUIET_ENV }, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0) {
    // wrangler --json prints {"error": {"text": …}} on failure.
    let text = `${run.stdout}${run.stderr}`.trim();
    try {
      const parsed = JSON.parse(run.stdout) as { error?: { text?: string } };
      if (parsed.error?.text !== undefined) text = parsed.error.text;
    } catch {
      // Not JSON: keep wrangler's output as it is.
    }
    throw new Error(`wrangler d1 execute failed (exit ${run.status ?? run.signal}): ${text}`);
  }
  return (JSON.parse(run.stdout) as { results: unknown[] }[]).map((r) => r.results);
}

/** Runs read-only statements against the store; one row list per statement, in order. */
export async function queryStore(store: PolicyStore, statements: readonly string[]): Promise<unknown[][]> {
  try {
    if (store.kind === "remote") return runWranglerQuery(wranglerQueryArgs(statements.join("; "), store));
    const target = await resolveLocalD1(store.options);
    return await withLocalD1(target, async (db) => {
      const results: unknown[][] = [];
      for (const sql of statements) results.push((await db.prepare(sql).all()).results);
      return results;
    });
  } catch (e) {
    throw new Error(explainD1Error(e instanceof Error ? e.message : String(e), store));
  }
}

export interface HistoryEntry {
  readonly version: number;
  readonly appliedAt: string;
  /** "" for the version that was live when the history table was created. */
  readonly sourceSha256: string;
  readonly providerCount: number;
  readonly rollbackOf: number | null;
  /** False for the version that was live when the history table was created: its text was never recorded. */
  readonly hasText: boolean;
}

export interface History {
  /** policy_version.version: what the token servers serve. */
  readonly current: number;
  readonly entries: readonly HistoryEntry[];
}

interface HistoryRow {
  version: number;
  applied_at: string;
  source_sha256: string;
  provider_count: number;
  rollback_of: number | null;
  has_text: number;
}

export async function readHistory(store: PolicyStore): Promise<History> {
  const [versionRows = [], rows = []] = await queryStore(store, [
    "SELECT version FROM policy_version WHERE id = 1",
    "SELECT version, applied_at, source_sha256, provider_count, rollback_of, source_text IS NOT NULL AS has_text FROM policy_history ORDER BY version",
  ]);
  const current = (versionRows[0] as { version?: number } | undefined)?.version ?? 0;
  return {
    current,
    entries: (rows as HistoryRow[]).map((r) => ({
      version: r.version,
      appliedAt: r.applied_at,
      sourceSha256: r.source_sha256,
      providerCount: r.provider_count,
      rollbackOf: r.rollback_of,
      hasText: r.has_text === 1,
    })),
  };
}

/** The history as a table, oldest first, the live version marked. */
export function formatHistory(history: History): string[] {
  if (history.entries.length === 0) return [`no versions recorded (policy version ${history.current})`];
  const lines = ["version  applied at                sha256                                                            providers  note"];
  for (const e of history.entries) {
    const notes = [
      ...(e.version === history.current ? ["current"] : []),
      ...(e.rollbackOf !== null ? [`rollback of ${e.rollbackOf}`] : []),
      ...(e.hasText ? [] : ["live when history began; text not recorded"]),
    ];
    lines.push(`${String(e.version).padEnd(8)} ${e.appliedAt.padEnd(25)} ${(e.sourceSha256 || "-").padEnd(65)} ${String(e.providerCount).padEnd(10)} ${notes.join(", ")}`.trimEnd());
  }
  if (!history.entries.some((e) => e.version === history.current)) {
    lines.push(`the live policy version ${history.current} is not in the history (applied by a CLI that did not record it)`);
  }
  return lines;
}

export interface StoredVersion {
  readonly entry: HistoryEntry;
  readonly sourceText: string | null;
  /** Each provider's stored JSON, exactly as applied, by name. */
  readonly providers: readonly { readonly name: string; readonly config: string }[];
}

/** One recorded version with its text and providers, or undefined if there is no such version. */
export async function readStoredVersion(store: PolicyStore, version: number): Promise<StoredVersion | undefined> {
  if (!Number.isSafeInteger(version) || version < 1) return undefined;
  const v = sqlLiteral(version);
  const [rows = [], providers = []] = await queryStore(store, [
    `SELECT version, applied_at, source_sha256, provider_count, rollback_of, source_text IS NOT NULL AS has_text, source_text FROM policy_history WHERE version = ${v}`,
    `SELECT name, config FROM policy_history_providers WHERE version = ${v} ORDER BY name`,
  ]);
  const row = rows[0] as (HistoryRow & { source_text: string | null }) | undefined;
  if (row === undefined) return undefined;
  return {
    entry: { version: row.version, appliedAt: row.applied_at, sourceSha256: row.source_sha256, providerCount: row.provider_count, rollbackOf: row.rollback_of, hasText: row.has_text === 1 },
    sourceText: row.source_text,
    providers: providers as { name: string; config: string }[],
  };
}

export const HISTORY_HELP = `Usage: jwt-registry-auth policy history (--local|--remote) [options]

Lists every recorded policy version, oldest first: its number, when it was
applied, the SHA-256 of the file, how many providers it had, and whether it is
the live one or a rollback. 'policy rollback VERSION' restores one.

  --show VERSION     print the file text recorded for VERSION instead
${STORE_HELP}`;

export async function policyHistoryCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values } = parseCommandArgs(argv, { ...STORE_OPTIONS, show: { type: "string" } }, { min: 0, max: 0, names: "" });
  const store = storeFromArgs(values);
  try {
    if (values.show !== undefined) {
      const version = parseVersion(values.show);
      const stored = await readStoredVersion(store, version);
      if (stored === undefined) {
        io.err(`error: no policy version ${version} is recorded ('policy history' lists them)`);
        return EXIT_FAILED;
      }
      if (stored.sourceText === null) {
        io.err(`error: version ${version} was live when the history began; its text was not recorded`);
        return EXIT_FAILED;
      }
      // io.out ends the line itself.
      io.out(stored.sourceText.replace(/\r?\n$/, ""));
      return EXIT_OK;
    }
    for (const line of formatHistory(await readHistory(store))) io.out(line);
    return EXIT_OK;
  } catch (e) {
    io.err(`error: ${e instanceof Error ? e.message : String(e)}`);
    return EXIT_FAILED;
  }
}

/** A version number as given on the command line; a UsageError unless a positive integer. */
export function parseVersion(text: string): number {
  if (!/^[1-9][0-9]{0,15}$/.test(text) || !Number.isSafeInteger(Number(text))) throw new UsageError(`VERSION must be a positive integer, not ${JSON.stringify(text)}`);
  return Number(text);
}
