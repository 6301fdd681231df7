/**
 * `policy diff FILE`: what applying FILE would change, provider by provider,
 * against what D1 holds now. Both sides are normalized provider configs (the
 * file through the loader validate and apply use, D1 as stored), so a change
 * of comments or formatting alone is no change.
 */
import { isDeepStrictEqual } from "node:util";
import type { ProviderConfig } from "@jwt-registry-auth/core/providers/model";
import { EXIT_FAILED, EXIT_OK, parseCommandArgs, type Io } from "../io.ts";
import { queryStore, STORE_HELP, STORE_OPTIONS, storeFromArgs, type PolicyStore } from "./history.ts";
import { loadPolicyFile, printDiagnostics } from "./load.ts";

/** Exit status of `diff --exit-code` when the file would change something. */
export const EXIT_CHANGES = 3;

export type ProviderDiff =
  | { readonly kind: "added"; readonly name: string; readonly config: ProviderConfig }
  | { readonly kind: "removed"; readonly name: string }
  | { readonly kind: "changed"; readonly name: string; readonly lines: readonly string[] };

type Stored = Readonly<Record<string, unknown>>;

/** The order fields are reported in; any other field follows, by name. */
const FIELD_ORDER = ["description", "issuer", "keys", "audiences", "authn", "authz", "refreshSeconds", "maxTokenLifetimeSeconds", "rateLimit"];

function keysSummary(keys: unknown): string {
  if (typeof keys !== "object" || keys === null) return JSON.stringify(keys) ?? "(none)";
  const k = keys as { source?: unknown; discoveryUrl?: unknown; pems?: unknown; jwks?: { keys?: unknown } };
  if (k.source === "discovery") return `discovery ${String(k.discoveryUrl)}`;
  if (k.source === "static" && Array.isArray(k.pems)) return `static, ${k.pems.length} PEM key(s)`;
  if (k.source === "jwks" && Array.isArray(k.jwks?.keys)) {
    const kids = (k.jwks.keys as { kid?: unknown }[]).map((j) => (typeof j.kid === "string" ? j.kid : "(no kid)"));
    return `jwks, ${kids.length} key(s): ${kids.join(", ")}`;
  }
  return JSON.stringify(keys);
}

function fieldLines(field: string, before: unknown, after: unknown): string[] {
  switch (field) {
    case "authn":
    case "authz": {
      const side = (sign: string, value: unknown) =>
        value === undefined ? [`      ${sign} (none: ${field === "authn" ? "every verified token authenticates" : "every requested scope is granted"})`] : String(value).replace(/\n+$/, "").split("\n").map((l) => `      ${sign} ${l}`);
      return [`    ${field}:`, ...side("-", before), ...side("+", after)];
    }
    case "keys": {
      const [b, a] = [keysSummary(before), keysSummary(after)];
      // Same summary, different keys (a PEM or JWK replaced): say so rather than print two equal lines.
      return [`    keys: ${b === a ? `${a} (key material changed)` : `${b} -> ${a}`}`];
    }
    case "refreshSeconds": {
      const show = (v: unknown) => (v === 0 ? "off" : v === undefined ? "(none)" : `${String(v)} s`);
      return [`    refresh: ${show(before)} -> ${show(after)}`];
    }
    case "maxTokenLifetimeSeconds": {
      const show = (v: unknown) => (v === undefined ? "default (86400 s)" : `${String(v)} s`);
      return [`    maxTokenLifetime: ${show(before)} -> ${show(after)}`];
    }
    case "rateLimit": {
      // An absent tier is the default tier (model.ts stores only off/strict), not "none".
      const show = (v: unknown) => (v === undefined ? "default" : String(v));
      return [`    rateLimit: ${show(before)} -> ${show(after)}`];
    }
    default: {
      const show = (v: unknown) => (v === undefined ? "(none)" : JSON.stringify(v));
      return [`    ${field}: ${show(before)} -> ${show(after)}`];
    }
  }
}

/** What changes in one provider, one or more lines per changed field; [] if nothing. */
export function providerChanges(before: Stored, after: Stored): string[] {
  // parsed is derived from authn/authz when applied (docs/storage-schema.md): a real change shows there.
  // sourceLines only says where the conditions sit in the file: moving them is no change of policy.
  const fields = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((f) => f !== "name" && f !== "parsed" && f !== "sourceLines");
  fields.sort((a, b) => {
    const [ia, ib] = [FIELD_ORDER.indexOf(a), FIELD_ORDER.indexOf(b)];
    if (ia !== ib) return (ia === -1 ? FIELD_ORDER.length : ia) - (ib === -1 ? FIELD_ORDER.length : ib);
    return a < b ? -1 : a > b ? 1 : 0;
  });
  return fields.filter((f) => !isDeepStrictEqual(before[f], after[f])).flatMap((f) => fieldLines(f, before[f], after[f]));
}

/** Per provider, what applying `next` over `stored` (name → stored JSON) changes; sorted by name. */
export function diffProviders(stored: ReadonlyMap<string, string>, next: readonly ProviderConfig[]): ProviderDiff[] {
  const diffs: ProviderDiff[] = [];
  const nextNames = new Set(next.map((p) => p.name));
  for (const name of stored.keys()) if (!nextNames.has(name)) diffs.push({ kind: "removed", name });
  for (const p of next) {
    const old = stored.get(p.name);
    if (old === undefined) {
      diffs.push({ kind: "added", name: p.name, config: p });
      continue;
    }
    let before: Stored;
    try {
      before = JSON.parse(old) as Stored;
    } catch {
      diffs.push({ kind: "changed", name: p.name, lines: ["    stored config is not valid JSON; the file's replaces it"] });
      continue;
    }
    const lines = providerChanges(before, p as unknown as Stored);
    if (lines.length > 0) diffs.push({ kind: "changed", name: p.name, lines });
  }
  return diffs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function formatDiff(diffs: readonly ProviderDiff[]): string[] {
  if (diffs.length === 0) return ["no changes"];
  const lines: string[] = [];
  for (const d of diffs) {
    if (d.kind === "removed") lines.push(`- ${d.name}: removed`);
    else if (d.kind === "added") lines.push(`+ ${d.name}: added (issuer ${d.config.issuer}, keys ${keysSummary(d.config.keys)})`);
    else lines.push(`~ ${d.name}:`, ...d.lines);
  }
  const count = (kind: ProviderDiff["kind"]) => diffs.filter((d) => d.kind === kind).length;
  lines.push(`${count("added")} added, ${count("removed")} removed, ${count("changed")} changed`);
  return lines;
}

/** The stored providers and policy version of the store. */
export async function readLiveProviders(store: PolicyStore): Promise<{ version: number; providers: Map<string, string> }> {
  const [versionRows = [], rows = []] = await queryStore(store, ["SELECT version FROM policy_version WHERE id = 1", "SELECT name, config FROM providers ORDER BY name"]);
  return {
    version: (versionRows[0] as { version?: number } | undefined)?.version ?? 0,
    providers: new Map((rows as { name: string; config: string }[]).map((r) => [r.name, r.config])),
  };
}

export const DIFF_HELP = `Usage: jwt-registry-auth policy diff FILE (--local|--remote) [options]

Shows what 'policy apply FILE' would change in D1, per provider: added and
removed providers, and for each changed one its changed fields (conditions
line by line, old then new; audiences, keys, refresh, maxTokenLifetime, ...).
FILE is checked as 'policy validate' checks it; nothing is written.
Exit status: 0 (with "no changes" when there are none), 1 errors, 2 usage,
3 with --exit-code when there are changes.

  --exit-code        exit 3 when applying FILE would change something
${STORE_HELP}`;

export async function policyDiffCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { ...STORE_OPTIONS, "exit-code": { type: "boolean" } }, { min: 1, max: 1, names: "FILE" });
  const store = storeFromArgs(values);
  const { file, result } = loadPolicyFile(positionals[0] as string);
  printDiagnostics(io, result);
  if (result.errors.length > 0) {
    io.err(`${file}: not compared: the file has errors`);
    return EXIT_FAILED;
  }
  try {
    const live = await readLiveProviders(store);
    const diffs = diffProviders(live.providers, result.providers);
    io.out(`${file} against the ${store.kind} D1 (policy version ${live.version}):`);
    for (const line of formatDiff(diffs)) io.out(line);
    return diffs.length > 0 && values["exit-code"] === true ? EXIT_CHANGES : EXIT_OK;
  } catch (e) {
    io.err(`error: ${e instanceof Error ? e.message : String(e)}`);
    return EXIT_FAILED;
  }
}
