/**
 * The D1 policy store as the /token handler sees it: compiled providers cached
 * in isolate memory, revalidated with one cheap read of `policy_version` (one
 * row) at most every REVALIDATE_MS, reloaded only when that version changed.
 *
 * - A provider is compiled on first use per version, and a new version reuses
 *   every provider whose stored JSON didn't change.
 * - A broken row (bad JSON, invalid config, a condition that no longer
 *   compiles) makes that provider `ok: false`; the others are unaffected.
 * - Bounded staleness: no decision is ever made on a version D1 confirmed more
 *   than MAX_POLICY_AGE_MS ago, so `policy apply` reaches every isolate within
 *   that bound plus one D1 read (docs/policy.md, "When a change takes
 *   effect"). Within the bound, stale-while-revalidate: the first request
 *   after REVALIDATE_MS claims the revalidation and, given a `waitUntil`, runs
 *   it in the background and answers from the snapshot; every other request
 *   uses the snapshot too. No request ever awaits another request's D1 read
 *   (workerd cancels such a request as hung: 0.6% of the 64-connection soak
 *   did, when reads were shared), and none awaits D1 while traffic keeps the
 *   snapshot inside the bound: under that soak, a request awaiting its own
 *   read every 2 s still cost 30–80 dropped connections a minute in workerd,
 *   and none with the read in the background. Past the bound (a cold or idle
 *   isolate) every concurrent request does its own read.
 * - D1 unreachable: a snapshot inside the bound keeps serving; past it,
 *   lookupProvider throws PolicyStoreUnavailableError (fail closed — a 503):
 *   a revoked provider must not outlive the bound because D1 was down.
 * - Reads go through a D1 session (the Sessions API), so read replicas can
 *   serve them; the session starts from the newest bookmark this isolate has
 *   seen, so a lagging replica can never hand it an older version than one it
 *   already decided on.
 */
import { validateProviderConfig } from "@jwt-registry-auth/core/providers/validate";
import { compileStoredProvider, describeProviderIssue, type LoadedProvider } from "@jwt-registry-auth/core/providers/compile-provider";
import type { Result } from "@jwt-registry-auth/protocol";

export type { LoadedProvider } from "@jwt-registry-auth/core/providers/compile-provider";

/** How long a confirmed version is trusted before D1 is asked again. */
export const REVALIDATE_MS = 2_000;
/**
 * The oldest confirmation a decision may rest on. Past it a request reads D1
 * itself, and fails closed if it can't. With REVALIDATE_MS = 2 s and a D1
 * read well under 1 s, apply-to-every-isolate stays within 5 s.
 */
export const MAX_POLICY_AGE_MS = 4_000;

export interface StoredProvider {
  readonly provider: LoadedProvider;
  /** The row's provider_id: what refresh tokens are bound to (migration 0002). */
  readonly id: string;
}

/** A stored provider compiled, or why it can't be used. */
type Entry = Result<StoredProvider, { readonly error: string }>;

/** `version`: the policy_version the lookup was decided on (logged with every decision). */
export type ProviderLookup = { readonly found: false; readonly version: number } | ({ readonly found: true; readonly version: number } & Entry);

interface Snapshot {
  readonly version: number;
  /** name → stored row. */
  readonly rows: ReadonlyMap<string, Row>;
  /** name → compiled provider, filled on first lookup. */
  readonly compiled: Map<string, Entry>;
  /** When D1 last confirmed this version. */
  confirmedAt: number;
  /** When D1 was last asked (successfully or not); drives the revalidation interval. */
  checkedAt: number;
}

export class PolicyStoreUnavailableError extends Error {
  override readonly name = "PolicyStoreUnavailableError";
  readonly code = "POLICY_STORE_UNAVAILABLE";
}

interface Stats {
  versionReads: number;
  reloads: number;
  compiles: number;
  /** D1's own `meta.rows_read`, summed over every query: what D1 bills. */
  rowsRead: number;
}

let snapshot: Snapshot | undefined;
/** The newest D1 session bookmark seen: sessions start from it, so versions never go backwards. */
let bookmark: string | undefined;
const stats: Stats = { versionReads: 0, reloads: 0, compiles: 0, rowsRead: 0 };

/** Test hook: forgets the isolate's cache and counters. */
export function resetPolicyCache(): void {
  snapshot = undefined;
  bookmark = undefined;
  stats.versionReads = 0;
  stats.reloads = 0;
  stats.compiles = 0;
  stats.rowsRead = 0;
}

/**
 * This isolate's policy cache, for tests, benchmarks and /healthz: the version
 * it holds (null before the first load), D1 version reads, full reloads,
 * provider compiles and D1 rows read since the isolate started.
 */
export function policyCacheStats(): Readonly<Stats & { version: number | null }> {
  return { version: snapshot?.version ?? null, ...stats };
}

function versionOf(row: unknown): number {
  const version = typeof row === "object" && row !== null && "version" in row ? row.version : undefined;
  if (typeof version !== "number" || !Number.isInteger(version)) throw new Error("policy_version has no integer version row");
  return version;
}

interface Row {
  /** Stored config JSON. */
  readonly config: string;
  readonly id: string;
}

function rowsOf(results: readonly unknown[]): Map<string, Row> {
  const rows = new Map<string, Row>();
  for (const row of results) {
    if (typeof row !== "object" || row === null || !("name" in row) || !("config" in row) || !("provider_id" in row)) continue;
    const { name, config, provider_id: id } = row;
    // A row whose name isn't text can't be looked up; one whose config or id isn't text fails at compile.
    if (typeof name === "string") rows.set(name, { config: typeof config === "string" ? config : "", id: typeof id === "string" ? id : "" });
  }
  return rows;
}

const sameRow = (a: Row | undefined, b: Row | undefined): boolean => a !== undefined && b !== undefined && a.config === b.config && a.id === b.id;

const rowsReadBy = (result: D1Result | undefined): number => result?.meta.rows_read ?? 0;

async function revalidate(db: D1Database, now: number): Promise<void> {
  const session = db.withSession(bookmark ?? "first-unconstrained");
  try {
    await revalidateIn(session, now);
  } finally {
    bookmark = session.getBookmark() ?? bookmark;
  }
}

async function revalidateIn(db: D1DatabaseSession, now: number): Promise<void> {
  stats.versionReads += 1;
  const versionRead = await db.prepare("SELECT version FROM policy_version WHERE id = 1").all();
  stats.rowsRead += rowsReadBy(versionRead);
  const version = versionOf(versionRead.results[0]);
  const current = snapshot;
  // Older than what this isolate holds: a lagging replica answered; it confirms nothing.
  if (current !== undefined && version < current.version) return;
  if (current !== undefined && current.version === version) {
    if (now > current.confirmedAt) current.confirmedAt = now;
    current.checkedAt = Math.max(current.checkedAt, now);
    return;
  }
  stats.reloads += 1;
  // One batch is one transaction: the rows belong to the version read with them.
  const [versionResult, rowsResult] = await db.batch([
    db.prepare("SELECT version FROM policy_version WHERE id = 1"),
    db.prepare("SELECT name, provider_id, config FROM providers"),
  ]);
  stats.rowsRead += rowsReadBy(versionResult) + rowsReadBy(rowsResult);
  const loaded = versionOf(versionResult?.results[0]);
  // A slower read that started earlier must not replace what a newer one loaded.
  if (snapshot !== undefined && snapshot !== current && snapshot.version >= loaded) return;
  const rows = rowsOf(rowsResult?.results ?? []);
  const compiled = new Map<string, Entry>();
  if (current !== undefined) {
    for (const [name, entry] of current.compiled) if (sameRow(current.rows.get(name), rows.get(name))) compiled.set(name, entry);
  }
  snapshot = { version: loaded, rows, compiled, confirmedAt: now, checkedAt: now };
}

async function ensureFresh(db: D1Database, now: number, waitUntil: ((promise: Promise<unknown>) => void) | undefined): Promise<Snapshot> {
  const cached = snapshot;
  const usable = cached !== undefined && now - cached.confirmedAt <= MAX_POLICY_AGE_MS;
  if (usable && now - cached.checkedAt < REVALIDATE_MS) return cached;
  // Claim this interval's revalidation: requests arriving while it runs get the snapshot above.
  if (cached !== undefined) cached.checkedAt = now;
  if (usable && waitUntil !== undefined) {
    waitUntil(
      revalidate(db, now).catch((e: unknown) => {
        console.warn(JSON.stringify({ event: "policy_revalidate_failed", error: e instanceof Error ? e.message : String(e) }));
      }),
    );
    return cached;
  }
  try {
    await revalidate(db, now);
  } catch (e) {
    if (usable) return cached;
    throw new PolicyStoreUnavailableError(`policy store unavailable: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (snapshot === undefined) throw new PolicyStoreUnavailableError("policy store unavailable: nothing loaded");
  return snapshot;
}

function compileEntry(name: string, { config: raw, id }: Row): Entry {
  stats.compiles += 1;
  if (!/^[0-9a-f]{32}$/.test(id)) return { ok: false, error: `provider ${name}: stored provider_id is not 32 hex digits` };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, error: `provider ${name}: stored config is not valid JSON` };
  }
  const checked = validateProviderConfig(json);
  if (!checked.ok) return { ok: false, error: `provider ${name}: stored config is invalid: ${checked.error}` };
  if (checked.value.name !== name) return { ok: false, error: `provider ${name}: stored config is named ${checked.value.name}` };
  // Planned from the parsed form `policy apply` stored: the Worker never parses CEL (issue 12).
  const result = compileStoredProvider(checked.value);
  if (!result.ok) return { ok: false, error: `provider ${name}: ${result.errors.map(describeProviderIssue).join("; ")}` };
  return { ok: true, value: { provider: result.value.provider, id } };
}

/**
 * The provider named `name` under the current policy version. Pass the
 * request's `waitUntil` so a due revalidation runs in the background.
 */
export async function lookupProvider(db: D1Database, name: string, now: number = Date.now(), waitUntil?: (promise: Promise<unknown>) => void): Promise<ProviderLookup> {
  const current = await ensureFresh(db, now, waitUntil);
  const { version } = current;
  const row = current.rows.get(name);
  if (row === undefined) return { found: false, version };
  let entry = current.compiled.get(name);
  if (entry === undefined) {
    entry = compileEntry(name, row);
    current.compiled.set(name, entry);
  }
  return { found: true, version, ...entry };
}
