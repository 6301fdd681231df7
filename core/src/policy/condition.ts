/**
 * A provider's CEL condition, compiled once per policy version and evaluated
 * per request.
 *
 * Loading checks, in order: size; parse (errors carry line:column); the static
 * checks (unknown variables and functions, bad regex literals, nesting); then an
 * evaluation against sample GitHub- and Kubernetes-shaped bindings (samples.ts):
 *  - any sample giving a non-bool (e.g. `claims.sub`) is an error;
 *  - a sample failing because a key is absent is fine — real claims differ from
 *    the samples, and such a request is simply refused at evaluation time;
 *  - if no sample gives a bool and some failure is not a missing key (a type
 *    mismatch on every sample, say `claims.exp > "x"`), that is an error;
 *  - if no sample gives a bool only because of missing keys, it loads with a
 *    warning: its result type could not be checked.
 * A condition that loads may still carry warnings for the hazards in
 * hazards.ts (deny-lists, unanchored patterns), each with its place.
 * At request time anything but a bool — a runtime error included — refuses.
 */
import { celError, isCelError, parse, plan, type CelInput, type CelResult } from "@bufbuild/cel";
import type { Result } from "@jwt-registry-auth/protocol/result";
import type { Expr } from "./cel-ast.ts";
import { celTypeName, claimsToCel, scopeToCel } from "./cel-values.ts";
import { findHazards } from "./hazards.ts";
import { CLAIMS_SAMPLES, SCOPE_SAMPLES } from "./samples.ts";
import { celEnvironment } from "./cel-environment.ts";
import { MAX_CONDITION_LENGTH, staticCheck, type ParsedCondition } from "./static-check.ts";
import { namesWildcardAction } from "./wildcard-action.ts";

export type ConditionKind = "authn" | "authz";

/** The variables each kind of condition sees. */
export const CONDITION_VARIABLES: Readonly<Record<ConditionKind, readonly string[]>> = {
  authn: ["service", "claims"],
  authz: ["service", "claims", "scope"],
};

export interface ConditionIssue {
  readonly message: string;
  /** 1-based, within the condition source. */
  readonly line?: number;
  readonly column?: number;
}

export type ConditionBindings = Readonly<Record<string, CelInput>>;

/**
 * A provider's compiled conditions, as evaluation sees them. The provider
 * model (providers/compile-provider.ts LoadedProvider) has these members, so
 * policy/ needs nothing from providers/.
 */
export interface CompiledConditions {
  /** Absent: every verified token authenticates. */
  readonly authn?: CompiledCondition;
  /** Absent: every requested scope is granted. */
  readonly authz?: CompiledCondition;
}

export interface CompiledCondition {
  readonly kind: ConditionKind;
  readonly source: string;
  readonly program: (bindings: ConditionBindings) => CelResult;
  readonly positions: Readonly<Record<string, number>>;
  /** The parsed AST, kept so a refusal can be explained term by term (explain.ts); never walked when a condition grants. */
  readonly expr: Expr;
  /** Whether it compares scope.action with "*": only such an authz condition can grant `*` (wildcard-action.ts). */
  readonly namesWildcardAction: boolean;
}

/** A condition that loads, with the warnings it loads with. */
export interface ConditionWithWarnings {
  readonly condition: CompiledCondition;
  readonly warnings: readonly ConditionIssue[];
}

export type CompileConditionResult = Result<ConditionWithWarnings, { readonly error: ConditionIssue }>;

export type ConditionOutcome = Result<boolean, { readonly error: string }>;

/** Runtime failures that mean "this key/index isn't in the data", not "this condition is wrong". */
function isMissingDataError(message: string): boolean {
  return message.startsWith("field not found") || message.startsWith("no such key") || message.startsWith("index out of bounds");
}

/** 1-based line and column of an offset into a condition's source. */
export function linePosition(source: string, offset: number | undefined): Pick<ConditionIssue, "line" | "column"> {
  if (offset === undefined) return {};
  const before = source.slice(0, offset).split("\n");
  return { line: before.length, column: (before.at(-1)?.length ?? 0) + 1 };
}

/**
 * The planner's programs report errors as values; this also turns a throw (a
 * stack overflow, say) into one. The raw result, for evaluate.ts: `true`
 * grants, anything else refuses and is explained (explain.ts).
 */
export function runProgram(condition: CompiledCondition, bindings: ConditionBindings): CelResult {
  try {
    return condition.program(bindings);
  } catch (e) {
    return celError(e);
  }
}

/** Runs a compiled condition; never throws. */
export function evaluateCondition(condition: CompiledCondition, bindings: ConditionBindings): ConditionOutcome {
  const result = runProgram(condition, bindings);
  if (isCelError(result)) {
    const where = linePosition(condition.source, condition.positions[String(result.exprId)]);
    const at = where.line === undefined ? "" : ` (at ${where.line}:${where.column})`;
    return { ok: false, error: `${result.message}${at}` };
  }
  if (typeof result !== "boolean") return { ok: false, error: `result is ${celTypeName(result)}, not bool` };
  return { ok: true, value: result };
}

function sampleBindings(kind: ConditionKind): { label: string; bindings: ConditionBindings }[] {
  const out: { label: string; bindings: ConditionBindings }[] = [];
  for (const sample of CLAIMS_SAMPLES) {
    const base = { service: sample.service, claims: claimsToCel(sample.claims) };
    if (kind === "authn") {
      out.push({ label: sample.label, bindings: base });
      continue;
    }
    for (const scope of SCOPE_SAMPLES) {
      out.push({ label: `${sample.label}, scope ${scope.type}:${scope.name}:${scope.action}`, bindings: { ...base, scope: scopeToCel(scope) } });
    }
  }
  return out;
}

/** Evaluates against the samples; see the module comment for the rules. */
function checkAgainstSamples(condition: CompiledCondition): { error?: ConditionIssue; warning?: ConditionIssue } {
  let sawBool = false;
  let firstMissing: string | undefined;
  let firstOther: ConditionIssue | undefined;
  for (const { label, bindings } of sampleBindings(condition.kind)) {
    const result = runProgram(condition, bindings);
    if (isCelError(result)) {
      const message = `${result.message} on the sample ${label}`;
      if (isMissingDataError(result.message)) firstMissing ??= message;
      else firstOther ??= { message, ...linePosition(condition.source, condition.positions[String(result.exprId)]) };
      continue;
    }
    if (typeof result !== "boolean") {
      return { error: { message: `condition must evaluate to a bool, but gives ${celTypeName(result)} on the sample ${label}` } };
    }
    sawBool = true;
  }
  if (sawBool) return {};
  if (firstOther !== undefined) return { error: { ...firstOther, message: `condition fails on every sample: ${firstOther.message}` } };
  return {
    warning: {
      message: `condition could not be evaluated on any sample claims (${firstMissing ?? "no result"}), so its result type is unchecked; try it with \`policy test\` against real claims`,
    },
  };
}

/**
 * A parsed condition planned for evaluation, with no further checks: what the
 * token server does with the parsed form `policy apply` stored
 * (stored-condition.ts), the checks having run when it was applied. Never
 * parses, so the worker's bundle holds no parser.
 */
export function planCondition(kind: ConditionKind, source: string, parsed: ParsedCondition): Result<CompiledCondition, { readonly error: ConditionIssue }> {
  if (parsed.expr === undefined) return { ok: false, error: { message: "condition has no expression" } };
  let program: CompiledCondition["program"];
  try {
    program = plan(celEnvironment(), parsed);
  } catch (e) {
    return { ok: false, error: { message: `cannot plan condition: ${e instanceof Error ? e.message : String(e)}` } };
  }
  return { ok: true, value: { kind, source, program, positions: parsed.sourceInfo?.positions ?? {}, expr: parsed.expr, namesWildcardAction: namesWildcardAction(parsed) } };
}

export function compileCondition(kind: ConditionKind, source: string): CompileConditionResult {
  if (source.length > MAX_CONDITION_LENGTH) {
    return { ok: false, error: { message: `condition is longer than ${MAX_CONDITION_LENGTH} characters` } };
  }
  let parsed: ParsedCondition;
  try {
    parsed = parse(source);
  } catch (e) {
    return { ok: false, error: parseIssue(e) };
  }
  const issue = staticCheck(parsed, CONDITION_VARIABLES[kind]);
  if (issue) return { ok: false, error: { message: issue.message, ...linePosition(source, issue.offset) } };

  const planned = planCondition(kind, source, parsed);
  if (!planned.ok) return planned;
  const condition = planned.value;
  const checked = checkAgainstSamples(condition);
  if (checked.error) return { ok: false, error: checked.error };
  const hazards = findHazards(parsed).map((h) => ({ message: h.message, ...linePosition(source, h.offset) }));
  return { ok: true, value: { condition, warnings: [...(checked.warning ? [checked.warning] : []), ...hazards] } };
}

/** Peggy's syntax errors carry `location.start`; its message repeats it as a `<input>:L:C:` prefix. */
function parseIssue(e: unknown): ConditionIssue {
  if (!(e instanceof Error)) return { message: `syntax error: ${String(e)}` };
  const message = `syntax error: ${e.message.replace(/^<input>:\d+:\d+: /, "")}`;
  const start = (e as { location?: { start?: { line?: unknown; column?: unknown } } }).location?.start;
  if (typeof start?.line === "number" && typeof start.column === "number") return { message, line: start.line, column: start.column };
  return { message };
}
