/**
 * A provider ready to decide requests: its config plus its conditions,
 * compiled once when its policy version is loaded.
 */
import type { Result } from "@jwt-registry-auth/protocol/result";
import type { ProviderConfig } from "./model.ts";
import { compileCondition, type CompiledCondition, type ConditionIssue, type ConditionKind } from "../policy/condition.ts";

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
