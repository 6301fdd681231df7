/**
 * A provider ready to decide requests: its config plus its conditions,
 * compiled once when its policy version is loaded. compileProvider parses and
 * checks the conditions' source (the CLI); compileStoredProvider plans the
 * parsed form `policy apply` stored beside it (the token server), so nothing
 * the Worker runs reaches the CEL parser (issue 12).
 */
import type { Result } from "@jwt-registry-auth/protocol/result";
import type { ProviderConfig } from "./model.ts";
import { compileCondition, planCondition, type CompiledCondition, type ConditionIssue, type ConditionKind } from "../policy/condition.ts";
import { decodeCondition, encodeCondition, type StoredCondition } from "../policy/stored-condition.ts";
import { MAX_STORED_PROVIDER_BYTES, storedLiteralBytes } from "./d1-limits.ts";

export interface LoadedProvider {
  readonly config: ProviderConfig;
  /** Absent: every verified token authenticates. */
  readonly authn?: CompiledCondition;
  /** Absent: every requested scope is granted (the PoC's rule). */
  readonly authz?: CompiledCondition;
}

export interface ProviderIssue extends ConditionIssue {
  readonly condition: ConditionKind;
}

/** A provider that compiles, with the warnings its conditions load with. */
export interface ProviderWithWarnings {
  readonly provider: LoadedProvider;
  readonly warnings: readonly ProviderIssue[];
}

export type CompileProviderResult = Result<ProviderWithWarnings, { readonly errors: readonly ProviderIssue[] }>;

/** "authz.condition 2:5: message" — how an issue reads without its YAML position. */
export function describeProviderIssue(issue: ProviderIssue): string {
  const at = issue.line === undefined ? "" : ` ${issue.line}:${issue.column ?? 1}`;
  return `${issue.condition}.condition${at}: ${issue.message}`;
}

export function compileProvider(config: ProviderConfig): CompileProviderResult {
  const errors: ProviderIssue[] = [];
  const warnings: ProviderIssue[] = [];
  const compiled: Partial<Record<ConditionKind, CompiledCondition>> = {};
  for (const kind of ["authn", "authz"] as const) {
    const source = config[kind];
    if (source === undefined) continue;
    const result = compileCondition(kind, source);
    if (result.ok) {
      compiled[kind] = result.value.condition;
      warnings.push(...result.value.warnings.map((w) => ({ ...w, condition: kind })));
    } else {
      errors.push({ ...result.error, condition: kind });
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value: { provider: { config, ...compiled }, warnings } };
}

/**
 * A stored provider (validated JSON from D1): its conditions planned from
 * their stored parsed form, never parsed. A condition without one (a row
 * applied before the form existed) or whose form is malformed or doesn't
 * match its source is an error that says to re-apply.
 */
export function compileStoredProvider(config: ProviderConfig): CompileProviderResult {
  const errors: ProviderIssue[] = [];
  const compiled: Partial<Record<ConditionKind, CompiledCondition>> = {};
  for (const kind of ["authn", "authz"] as const) {
    const source = config[kind];
    if (source === undefined) continue;
    const stored = config.parsed?.[kind];
    if (stored === undefined) {
      errors.push({ condition: kind, message: "stored without its parsed form (applied by an older version); run `policy apply` with the providers file again" });
      continue;
    }
    const decoded = decodeCondition(source, stored);
    const planned = decoded.ok ? planCondition(kind, source, decoded.value) : { ok: false as const, error: { message: decoded.error } };
    if (planned.ok) compiled[kind] = planned.value;
    else errors.push({ ...planned.error, condition: kind });
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value: { provider: { config, ...compiled }, warnings: [] } };
}

/**
 * The config as `policy apply` stores it: each condition's parsed form
 * computed from its source, replacing any it had. Throws when a condition
 * doesn't compile: the CLI checked the file, so that is a bug or a history
 * row (`policy rollback`) that current checks refuse, and nothing is written.
 * It also throws, naming the provider and the limit, when the stored JSON
 * would not fit one remote D1 statement (d1-limits.ts): each limit of the
 * file is within bounds, but all of them at once (32 static keys of 16 KiB,
 * or two conditions of 2,000 nodes beside 32 long audiences) are not.
 */
export function withParsedConditions(config: ProviderConfig): ProviderConfig {
  const { parsed: _ignored, ...rest } = config;
  const result = compileProvider(rest);
  if (!result.ok) throw new Error(`provider ${config.name}: ${result.errors.map(describeProviderIssue).join("; ")}`);
  const parsed: { authn?: StoredCondition; authz?: StoredCondition } = {};
  for (const kind of ["authn", "authz"] as const) {
    const condition = result.value.provider[kind];
    if (condition !== undefined) parsed[kind] = encodeCondition(condition);
  }
  const stored = Object.keys(parsed).length === 0 ? rest : { ...rest, parsed };
  const bytes = storedLiteralBytes(JSON.stringify(stored));
  if (bytes > MAX_STORED_PROVIDER_BYTES) {
    throw new Error(
      `provider ${config.name}: its stored form (with the conditions' parsed form) is ${bytes} bytes; the limit is ${MAX_STORED_PROVIDER_BYTES} bytes, so that it fits one remote D1 statement (100,000 bytes): shorten its conditions, audiences or keys`,
    );
  }
  return stored;
}
