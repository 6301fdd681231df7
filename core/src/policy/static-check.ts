/**
 * What cel-go's checker caught for the PoC and @bufbuild/cel (no checker)
 * doesn't: references to variables a condition can't see, calls to functions
 * that don't exist, message construction, regex literals that don't compile —
 * plus size limits, so one policy can't make every request expensive.
 */
import { isCelError, run, type parse } from "@bufbuild/cel";
import { celEnvironment } from "./cel-environment.ts";

export type ParsedCondition = ReturnType<typeof parse>;
type Expr = ParsedCondition["expr"];

/** Longest condition source accepted (characters). */
export const MAX_CONDITION_LENGTH = 4096;
/** Most AST nodes after macro expansion (`exists()` and friends expand to several). */
export const MAX_CONDITION_NODES = 2000;
/**
 * Deepest expression nesting accepted (cel-go's parser default, 250). Every
 * walker over the tree (these checks, the hazard scan, the planner) recurses,
 * and a 4,096-character chain like `has(claims.a.a.a…)` nests ~2,000 deep:
 * deep enough to overflow the stack instead of giving an error.
 */
export const MAX_CONDITION_DEPTH = 250;
/** Comprehensions (`all`, `exists`, `map`, `filter`) nested deeper than this are rejected: cost grows as a power of claim size. */
export const MAX_COMPREHENSION_DEPTH = 2;

/** The direct sub-expressions of `expr`. */
function children(expr: Expr): (Expr | undefined)[] {
  const kind = expr.exprKind;
  switch (kind.case) {
    case "selectExpr":
      return [kind.value.operand];
    case "callExpr":
      return [kind.value.target, ...kind.value.args];
    case "listExpr":
      return kind.value.elements;
    case "structExpr":
      return kind.value.entries.flatMap((e) => [e.keyKind.case === "mapKey" ? e.keyKind.value : undefined, e.value]);
    case "comprehensionExpr":
      return [kind.value.iterRange, kind.value.accuInit, kind.value.loopCondition, kind.value.loopStep, kind.value.result];
    default:
      return [];
  }
}

/** The first expression found more than `limit` levels below the root, walking with an explicit stack. */
function deeperThan(root: Expr | undefined, limit: number): Expr | undefined {
  const stack: [Expr, number][] = root === undefined ? [] : [[root, 1]];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [expr, level] = item;
    if (level > limit) return expr;
    for (const child of children(expr)) if (child !== undefined) stack.push([child, level + 1]);
  }
  return undefined;
}

/** Identifiers that name CEL types, usable in `type(x) == string`. */
const TYPE_NAMES = new Set(["bool", "bytes", "double", "int", "list", "map", "null_type", "string", "type", "uint", "dyn"]);

/** Calls the planner handles itself rather than through the function registry. */
const PLANNER_BUILTINS = new Set(["_&&_", "_||_", "_?_:_", "_[_]", "_[?_]", "_?._", "@not_strictly_false", "__not_strictly_false__"]);

export interface StaticIssue {
  readonly message: string;
  /** Offset into the condition source, when the issue has a place. */
  readonly offset?: number;
}

/** Returns the first problem found, or undefined when the condition passes. */
export function staticCheck(parsed: ParsedCondition, variables: readonly string[]): StaticIssue | undefined {
  const positions = parsed.sourceInfo?.positions ?? {};
  const at = (expr: Expr): number | undefined => positions[String(expr.id)];
  // First, and without recursion: every walker after this one recurses.
  const tooDeep = deeperThan(parsed.expr, MAX_CONDITION_DEPTH);
  if (tooDeep !== undefined) return { message: `condition nests more than ${MAX_CONDITION_DEPTH} expressions deep`, offset: at(tooDeep) };
  let nodes = 0;

  const visit = (expr: Expr | undefined, bound: ReadonlySet<string>, depth: number): StaticIssue | undefined => {
    if (expr === undefined) return undefined;
    nodes += 1;
    if (nodes > MAX_CONDITION_NODES) return { message: `condition is too complex (more than ${MAX_CONDITION_NODES} expression nodes)` };
    const kind = expr.exprKind;
    switch (kind.case) {
      case "constExpr":
      case undefined:
        return undefined;
      case "identExpr": {
        const name = kind.value.name;
        if (bound.has(name) || variables.includes(name) || TYPE_NAMES.has(name)) return undefined;
        return { message: `unknown variable '${name}' (this condition can use ${variables.join(", ")})`, offset: at(expr) };
      }
      case "selectExpr":
        return visit(kind.value.operand, bound, depth);
      case "callExpr": {
        const call = kind.value;
        if (!PLANNER_BUILTINS.has(call.function) && celEnvironment().funcs.find(call.function) === undefined) {
          return { message: `unknown function '${call.function}'`, offset: at(expr) };
        }
        const regexIssue = checkRegexLiteral(call.function, call.target, call.args);
        if (regexIssue !== undefined) return { message: regexIssue, offset: at(expr) };
        for (const child of [call.target, ...call.args]) {
          const issue = visit(child, bound, depth);
          if (issue) return issue;
        }
        return undefined;
      }
      case "listExpr":
        for (const element of kind.value.elements) {
          const issue = visit(element, bound, depth);
          if (issue) return issue;
        }
        return undefined;
      case "structExpr":
        if (kind.value.messageName !== "") {
          return { message: `message construction (${kind.value.messageName}{…}) is not available in policies`, offset: at(expr) };
        }
        for (const entry of kind.value.entries) {
          const key = entry.keyKind.case === "mapKey" ? visit(entry.keyKind.value, bound, depth) : undefined;
          const issue = key ?? visit(entry.value, bound, depth);
          if (issue) return issue;
        }
        return undefined;
      case "comprehensionExpr": {
        const c = kind.value;
        if (depth + 1 > MAX_COMPREHENSION_DEPTH) {
          return { message: `comprehensions (all/exists/map/filter) nested more than ${MAX_COMPREHENSION_DEPTH} deep`, offset: at(expr) };
        }
        const inner = new Set([...bound, c.iterVar, c.accuVar, ...(c.iterVar2 === "" ? [] : [c.iterVar2])]);
        const withAccu = new Set([...bound, c.accuVar]);
        return (
          visit(c.iterRange, bound, depth) ??
          visit(c.accuInit, bound, depth) ??
          visit(c.loopCondition, inner, depth + 1) ??
          visit(c.loopStep, inner, depth + 1) ??
          visit(c.result, withAccu, depth)
        );
      }
    }
  };
  return visit(parsed.expr, new Set(), 0);
}

/** A `matches()` pattern given as a literal must compile (RE2 syntax), like cel-go checks it. */
function checkRegexLiteral(fn: string, target: Expr | undefined, args: readonly Expr[]): string | undefined {
  if (fn !== "matches") return undefined;
  const patternExpr = target === undefined ? args[1] : args[0];
  const constant = patternExpr?.exprKind.case === "constExpr" ? patternExpr.exprKind.value.constantKind : undefined;
  if (constant?.case !== "stringValue") return undefined;
  const result = run(`"".matches(pattern)`, { pattern: constant.value });
  return isCelError(result) ? `invalid regular expression ${JSON.stringify(constant.value)}: ${result.message}` : undefined;
}
