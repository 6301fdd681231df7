/**
 * `policy replay FILE --log LOG`: what this change would break. Re-decides
 * the token requests the token server logged (worker/src/log.ts, one
 * `token_request` JSON line each) under FILE's providers, with the claims the
 * line recorded — only the claims the then-applied conditions read
 * (core/src/policy/claims-used.ts), never a token — and lists every request
 * whose outcome would change: provider, subject, each changed scope, old →
 * new, and the new explanation (core/src/policy/explain.ts, via evaluate.ts,
 * as `policy test` prints it).
 *
 * Only the conditions are replayed: identity checks (issuer, audience, keys,
 * lifetimes) are not, since the token is not in the log. A request whose new
 * conditions read a claim the line didn't record is "cannot replay", never
 * guessed; so is one logged for a provider reading `claims` as a whole.
 */
import { readFileSync } from "node:fs";
import { formatScope, parseScope, ScopeError, type ResourceScope } from "@jwt-registry-auth/protocol";
import type { ProviderConfig } from "@jwt-registry-auth/core/providers/model";
import { compileProvider, describeProviderIssue, type LoadedProvider } from "@jwt-registry-auth/core/providers/compile-provider";
import { claimsUsedByProvider } from "@jwt-registry-auth/core/policy/claims-used";
import { evaluateAuthn, evaluateAuthz, type Decision } from "@jwt-registry-auth/core/policy/evaluate";
import { TOKEN_REQUEST_EVENT, type TokenRequestLog } from "@jwt-registry-auth/core/policy/token-request-log";
import { EXIT_FAILED, EXIT_OK, parseCommandArgs, UsageError, type Io } from "../io.ts";
import { loadPolicyFile, printDiagnostics } from "./load.ts";

/** Outcomes would change: distinct from 1 (errors) so CI can gate on it. */
export const EXIT_CHANGED = 3;
/** Warnings about malformed lines printed before the rest are only counted. */
const MAX_LINE_WARNINGS = 20;

/** The token server's answer when its rate limit (not a policy) refused the request. */
const RATE_LIMITED_STATUS = 429;

export const REPLAY_HELP = `Usage: jwt-registry-auth policy replay FILE --log LOG

Re-decides the token requests in LOG under FILE's providers and lists every
request whose outcome would change: provider, subject, each changed scope,
old -> new, and the new explanation. LOG holds the token server's JSON log
lines: its console output (one {"event":"token_request",...} per line) or
'wrangler tail --format json' (the line inside logs[].message[]). Other lines
are skipped; a malformed one is a warning with its line number.

Each line records the claims the conditions then in force read, never the
token; a request whose new conditions read a claim it didn't record is listed
as "cannot replay: claim X not recorded". Only conditions are replayed, not
the identity checks (issuer, audience, keys).

Exit status: 0 nothing would change, 1 errors (FILE invalid, LOG unreadable),
2 usage, 3 outcomes would change.`;

/** A logged request the policy decided: what replay needs of a line. */
export interface RecordedRequest {
  readonly line: number;
  readonly entry: TokenRequestLog & { readonly time?: string };
}

export interface ParsedLog {
  readonly requests: readonly RecordedRequest[];
  /** token_request lines that never reached a policy decision (failed earlier, or logged before claims were recorded). */
  readonly undecided: number;
  /** `line N: why`, one per malformed line. */
  readonly malformed: readonly string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const isStringArray = (value: unknown): value is string[] => Array.isArray(value) && value.every((v) => typeof v === "string");

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

/** The token_request objects in one parsed JSON value: the line itself, or those inside a wrangler tail event's `logs[].message[]`. */
function tokenRequestsIn(value: unknown): unknown[] {
  if (!isRecord(value)) return [];
  if (value["event"] === TOKEN_REQUEST_EVENT) return [value];
  const logs = value["logs"];
  if (!Array.isArray(logs)) return [];
  const found: unknown[] = [];
  for (const log of logs) {
    const message = isRecord(log) ? log["message"] : undefined;
    if (!Array.isArray(message)) continue;
    for (const part of message) {
      const inner = typeof part === "string" && part.includes(TOKEN_REQUEST_EVENT) ? parseJson(part) : { ok: true as const, value: part };
      if (!inner.ok) throw new Error(`a logs[].message[] entry mentioning ${TOKEN_REQUEST_EVENT} is not JSON (${inner.error})`);
      if (isRecord(inner.value) && inner.value["event"] === TOKEN_REQUEST_EVENT) found.push(inner.value);
    }
  }
  return found;
}

/** Why a token_request object can't be read as one, or undefined when it can. */
function shapeProblem(o: Record<string, unknown>): string | undefined {
  if (typeof o["requestId"] !== "string") return "no requestId";
  if (typeof o["status"] !== "number") return "no numeric status";
  for (const key of ["provider", "subject", "service", "claimsUnrecorded", "time"] as const) {
    if (o[key] !== undefined && typeof o[key] !== "string") return `${key} is not a string`;
  }
  for (const key of ["requested", "granted", "refused", "claimsRead"] as const) {
    if (o[key] !== undefined && !isStringArray(o[key])) return `${key} is not a list of strings`;
  }
  if (o["claims"] !== undefined && !isRecord(o["claims"])) return "claims is not an object";
  if (o["authn"] !== undefined && o["authn"] !== "allowed" && o["authn"] !== "refused") return 'authn is not "allowed" or "refused"';
  return undefined;
}

/**
 * Reads LOG's text: one JSON value per line, or a pretty-printed object (as
 * `wrangler tail --format json` prints them) from a line "{" to a line "}".
 */
export function parseLog(text: string): ParsedLog {
  const requests: RecordedRequest[] = [];
  const malformed: string[] = [];
  let undecided = 0;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i += 1) {
    const start = i + 1;
    let chunk = (lines[i] ?? "").trim();
    if (chunk === "") continue;
    if (chunk === "{") {
      // A pretty-printed object: up to the first line that is just "}".
      let end = i + 1;
      while (end < lines.length && lines[end] !== "}") end += 1;
      chunk = lines.slice(i, end + 1).join("\n");
      i = end;
    }
    let value = parseJson(chunk);
    if (!value.ok && chunk.includes("{")) {
      // A prefix before the JSON (a timestamp, a log level): try from the first brace.
      const fromBrace = parseJson(chunk.slice(chunk.indexOf("{")));
      if (fromBrace.ok) value = fromBrace;
    }
    if (!value.ok) {
      malformed.push(`line ${start}: not JSON (${value.error})`);
      continue;
    }
    let found: unknown[];
    try {
      found = tokenRequestsIn(value.value);
    } catch (e) {
      malformed.push(`line ${start}: ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    for (const o of found) {
      const problem = isRecord(o) ? shapeProblem(o) : "not an object";
      if (problem !== undefined) {
        malformed.push(`line ${start}: a ${TOKEN_REQUEST_EVENT} line, but ${problem}`);
        continue;
      }
      const entry = o as unknown as RecordedRequest["entry"];
      // Decided by a policy: the handler records claims (or why not) right before authn. A 429 was decided
      // by the rate limit, not the policy: replaying it would report a refusal the policy never made.
      if (entry.status === RATE_LIMITED_STATUS || entry.provider === undefined || (entry.claimsRead === undefined && entry.claimsUnrecorded === undefined)) undecided += 1;
      else requests.push({ line: start, entry });
    }
  }
  return { requests, undecided, malformed };
}

type Verdict = "granted" | "refused";

interface Outcome {
  readonly authn: "allowed" | "refused";
  /** Per (scope, action) label, in request order. */
  readonly scopes: ReadonlyMap<string, Verdict>;
}

/** `repository:acme/app:pull,push` → one label per action, as the log's granted/refused carry them. */
function actionLabels(requested: readonly string[]): { label: string; scope: ResourceScope; action: string }[] {
  const out: { label: string; scope: ResourceScope; action: string }[] = [];
  for (const raw of requested) {
    const scope = parseScope(raw);
    for (const action of scope.actions) out.push({ label: formatScope({ ...scope, actions: [action] }), scope, action });
  }
  return out;
}

function recordedOutcome(entry: TokenRequestLog, labels: readonly string[]): Outcome {
  const granted = new Set(entry.granted ?? []);
  // Older lines have no authn field: granted/refused present means authn allowed.
  const authn = entry.authn ?? (entry.granted !== undefined || entry.refused !== undefined || entry.status === 200 ? "allowed" : "refused");
  return { authn, scopes: new Map(labels.map((l) => [l, authn === "allowed" && granted.has(l) ? "granted" : "refused"])) };
}

export type ReplayResult =
  | { readonly kind: "unchanged" }
  | { readonly kind: "changed"; readonly lines: readonly string[] }
  | { readonly kind: "provider_removed" }
  | { readonly kind: "not_replayable"; readonly reason: string };

/** Re-decides one recorded request under `provider` (undefined: no provider of that name in the new file). */
export function replayRequest(entry: TokenRequestLog, provider: LoadedProvider | undefined): ReplayResult {
  if (provider === undefined) return { kind: "provider_removed" };
  const needed = claimsUsedByProvider(provider);
  if (!needed.replayable) return { kind: "not_replayable", reason: `the new ${needed.reason}` };
  const recorded = new Set(entry.claimsRead ?? []);
  const missing = needed.claims.filter((c) => !recorded.has(c));
  if (missing.length > 0) {
    const why = entry.claimsUnrecorded === undefined ? "" : ` (no claims were logged: ${entry.claimsUnrecorded})`;
    return { kind: "not_replayable", reason: `claim${missing.length === 1 ? "" : "s"} ${missing.join(", ")} not recorded${why}` };
  }
  let actions;
  try {
    actions = actionLabels(entry.requested ?? []);
  } catch (e) {
    if (e instanceof ScopeError) return { kind: "not_replayable", reason: `a requested scope does not parse: ${e.message}` };
    throw e;
  }
  const service = entry.service ?? "";
  const claims = { ...(entry.claims ?? {}) };
  const old = recordedOutcome(entry, actions.map((a) => a.label));
  const lines: string[] = [];

  const authn = evaluateAuthn(provider, { service, claims });
  const newAuthn = authn.allowed ? "allowed" : "refused";
  if (newAuthn !== old.authn) lines.push(`authn  ${old.authn} → ${newAuthn}  (${authn.reason})`);
  for (const { label, scope, action } of actions) {
    let decision: Decision;
    if (!authn.allowed) decision = { allowed: false, reason: "authn refused" };
    else decision = evaluateAuthz(provider, { service, claims, scope: { type: scope.type, name: scope.name, action, ...(scope.class !== undefined && { class: scope.class }) } });
    const before = old.scopes.get(label) ?? "refused";
    const after: Verdict = decision.allowed ? "granted" : "refused";
    if (before !== after) lines.push(`${label}  ${before} → ${after}  (${decision.reason})`);
  }
  return lines.length === 0 ? { kind: "unchanged" } : { kind: "changed", lines };
}

function describeRequest(r: RecordedRequest): string {
  const e = r.entry;
  const when = e.time === undefined ? "" : ` ${e.time}`;
  return `line ${r.line}: request ${e.requestId}${when}: provider ${e.provider ?? "?"}, subject ${e.subject ?? "?"}, service ${e.service ?? "?"}`;
}

export async function policyReplayCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { log: { type: "string" } }, { min: 1, max: 1, names: "FILE" });
  if (values.log === undefined || values.log === "") throw new UsageError("--log LOG is required");
  const file = positionals[0] as string;

  const loaded = loadPolicyFile(file);
  if (loaded.result.errors.length > 0) {
    printDiagnostics(io, loaded.result);
    io.err(`${file}: nothing replayed: the file has errors`);
    return EXIT_FAILED;
  }
  const providers = new Map<string, LoadedProvider>();
  for (const config of loaded.result.providers as readonly ProviderConfig[]) {
    const compiled = compileProvider(config);
    if (!compiled.ok) {
      for (const issue of compiled.errors) io.err(`error: ${file}: provider ${config.name}: ${describeProviderIssue(issue)}`);
      return EXIT_FAILED;
    }
    providers.set(config.name, compiled.value.provider);
  }

  let text: string;
  try {
    text = readFileSync(values.log, "utf8");
  } catch (e) {
    io.err(`error: cannot read --log ${values.log}: ${e instanceof Error && "code" in e ? String(e.code) : String(e)}`);
    return EXIT_FAILED;
  }
  const log = parseLog(text);
  for (const warning of log.malformed.slice(0, MAX_LINE_WARNINGS)) io.err(`warning: ${values.log}: ${warning}`);
  if (log.malformed.length > MAX_LINE_WARNINGS) io.err(`warning: ${values.log}: ${log.malformed.length - MAX_LINE_WARNINGS} more malformed line(s)`);

  let changed = 0;
  let notReplayable = 0;
  for (const request of log.requests) {
    const result = replayRequest(request.entry, providers.get(request.entry.provider ?? ""));
    switch (result.kind) {
      case "unchanged":
        break;
      case "changed":
        changed += 1;
        io.out(`CHANGED ${describeRequest(request)}`);
        for (const line of result.lines) io.out(`  ${line}`);
        break;
      case "provider_removed":
        changed += 1;
        io.out(`CHANGED ${describeRequest(request)}`);
        io.out(`  provider removed  (every request under this name now fails: 401 authentication_failed)`);
        break;
      case "not_replayable":
        notReplayable += 1;
        io.out(`SKIPPED ${describeRequest(request)}`);
        io.out(`  cannot replay: ${result.reason}`);
        break;
    }
  }
  const extras = [
    ...(log.undecided > 0 ? [`${log.undecided} token_request line(s) not decided by a policy, skipped`] : []),
    ...(log.malformed.length > 0 ? [`${log.malformed.length} malformed line(s)`] : []),
  ];
  io.out(`${log.requests.length} request(s), ${changed} changed, ${notReplayable} not replayable${extras.length > 0 ? ` (${extras.join("; ")})` : ""}`);
  return changed > 0 ? EXIT_CHANGED : EXIT_OK;
}
