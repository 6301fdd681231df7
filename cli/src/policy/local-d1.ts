/**
 * The local D1 database `wrangler dev` reads, opened with Miniflare the way
 * `wrangler d1 execute --local` opens it: the database id from the wrangler
 * config, persisted under `<persist root>/v3/d1`, where the root is
 * `--persist-to DIR` (relative to the cwd) or `.wrangler/state` beside the
 * config file. Migrations not yet applied are applied with wrangler itself, so
 * its `d1_migrations` bookkeeping stays the one source of truth.
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { Miniflare } from "miniflare";

export interface LocalD1Options {
  /** The wrangler config (default `wrangler.toml` in the cwd). */
  readonly wranglerConfig?: string;
  /** Binding or database_name (default POLICY_DB). */
  readonly database?: string;
  /** As `wrangler dev --persist-to DIR`. */
  readonly persistTo?: string;
}

export interface LocalD1Target {
  readonly configPath: string;
  readonly database: string;
  readonly databaseId: string;
  readonly migrationsDir: string;
  readonly migrationsTable: string;
  /** The directory Miniflare's `d1Persist` points at. */
  readonly d1Persist: string;
  readonly persistTo?: string;
}

/** The fields of a wrangler `[[d1_databases]]` entry used here. */
interface D1ConfigEntry {
  readonly binding: string;
  readonly database_name?: string;
  readonly database_id?: string;
  readonly preview_database_id?: string;
  readonly migrations_dir?: string;
  readonly migrations_table?: string;
}

const require = createRequire(import.meta.url);
const WRANGLER_BIN = require.resolve("wrangler/bin/wrangler.js");
const QUIET_ENV = { CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" };

/** Where the database lives, read from the wrangler config with wrangler's own reader. */
export async function resolveLocalD1(options: LocalD1Options): Promise<LocalD1Target> {
  const configPath = resolve(options.wranglerConfig ?? "wrangler.toml");
  const database = options.database ?? "POLICY_DB";
  const { unstable_readConfig } = await import("wrangler");
  const config = unstable_readConfig({ config: configPath });
  const databases: readonly D1ConfigEntry[] = config.d1_databases;
  const entry = databases.find((d) => d.binding === database || d.database_name === database);
  if (entry === undefined) throw new Error(`${configPath} has no D1 database with binding or name ${JSON.stringify(database)}`);
  const databaseId = entry.preview_database_id ?? entry.database_id;
  if (databaseId === undefined) throw new Error(`${configPath}: D1 database ${database} has no database_id`);
  const root = options.persistTo !== undefined ? resolve(options.persistTo) : join(dirname(configPath), ".wrangler", "state");
  return {
    configPath,
    database,
    databaseId,
    migrationsDir: resolve(dirname(configPath), entry.migrations_dir ?? "migrations"),
    migrationsTable: entry.migrations_table ?? "d1_migrations",
    d1Persist: join(root, "v3", "d1"),
    ...(options.persistTo !== undefined && { persistTo: resolve(options.persistTo) }),
  };
}

export type LocalD1 = Awaited<ReturnType<Miniflare["getD1Database"]>>;

function openMiniflare(target: LocalD1Target): Miniflare {
  return new Miniflare({ modules: true, script: "", d1Persist: target.d1Persist, d1Databases: { DB: target.databaseId } });
}

async function pendingMigrations(target: LocalD1Target, db: LocalD1): Promise<string[]> {
  const files = readdirSync(target.migrationsDir).filter((f) => f.endsWith(".sql")).sort();
  let applied: Set<string>;
  try {
    const rows = await db.prepare(`SELECT name FROM ${target.migrationsTable}`).all<{ name: string }>();
    applied = new Set(rows.results.map((r) => r.name));
  } catch {
    // No migrations table yet: nothing applied.
    applied = new Set();
  }
  return files.filter((f) => !applied.has(f));
}

function runWranglerMigrations(target: LocalD1Target): void {
  const args = [WRANGLER_BIN, "d1", "migrations", "apply", target.database, "--local", "--config", target.configPath];
  if (target.persistTo !== undefined) args.push("--persist-to", target.persistTo);
  const run = spawnSync(process.execPath, args, { cwd: dirname(target.configPath), env: { ...process.env, ...QUIET_ENV, CI: "true" }, encoding: "utf8" });
  if (run.status !== 0) throw new Error(`wrangler d1 migrations apply failed (exit ${run.status ?? run.signal}):\n${run.stdout}${run.stderr}`);
}

/**
 * Runs `body` with the local database open and migrated: pending migrations
 * are applied by `wrangler d1 migrations apply --local` (with Miniflare closed
 * meanwhile) first. Miniflare is always disposed.
 */
export async function withLocalD1<T>(target: LocalD1Target, body: (db: LocalD1) => Promise<T>): Promise<T> {
  let mf = openMiniflare(target);
  try {
    if ((await pendingMigrations(target, await mf.getD1Database("DB"))).length > 0) {
      await mf.dispose();
      runWranglerMigrations(target);
      mf = openMiniflare(target);
    }
    return await body(await mf.getD1Database("DB"));
  } finally {
    await mf.dispose();
  }
}

export { WRANGLER_BIN, QUIET_ENV };
