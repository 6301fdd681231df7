/**
 * Conditions that load and mean something other than what they read as.
 * Each is a warning (the condition is valid CEL and may be intended) that
 * names the safe form; docs/policy.md ("Fail-closed patterns") explains them.
 *
 *  - A negated action check (`scope.action != "delete"`, `!(scope.action in
 *    [...])`) grants every action it does not name: `*` (every action, where
 *    the condition names it — wildcard-action.ts) and any added later.
 *  - `matches()` is an unanchored search: `scope.name.matches("acme/[a-z]+")`
 *    is true for `evil/acme/app`. Patterns over the request and claims must
 *    start with `^` and end with `$` (a top-level `|` needs a group).
 *  - Negated membership or equality over a claim (`!(claims.team in
 *    ["blocked"])`, `claims.team != "blocked"`) is true when the claim is
 *    null, a list or a map — the claim shape is the issuer's, not the
 *    policy's. A `type(claims.team) == string &&` guard beside it makes it safe.
 *
 * Polarity is tracked through `!`, `&&`, `||` and a ternary's branches, so
 * `!(scope.action == "pull")` counts as negated and `!(a != b)` does not.
 */
import { formatInputPath, forEachChild, inputPath, isScopeField, startOffset, stringConstant, type Expr, type InputPath } from "./cel-ast.ts";
import type { ParsedCondition } from "./static-check.ts";

export interface PolicyHazard {
  readonly message: string;
  /** Offset of the hazardous expression's first character in the source. */
  readonly offset?: number;
}

const INPUTS = ["scope", "claims", "service"];

/** Where the walk is: negated or not, what is bound, and which claim paths a `type(…) == …` guard pins in the enclosing `&&`. */
interface Context {
  readonly negated: boolean;
  readonly bound: ReadonlySet<string>;
  readonly guarded: ReadonlySet<string>;
}

function call(expr: Expr | undefined): { fn: string; target: Expr | undefined; args: readonly Expr[] } | undefined {
  return expr?.exprKind.case === "callExpr" ? { fn: expr.exprKind.value.function, target: expr.exprKind.value.target, args: expr.exprKind.value.args } : undefined;
}

function claimPath(expr: Expr | undefined, bound: ReadonlySet<string>): InputPath | undefined {
  const p = inputPath(expr, ["claims"], bound);
  return p !== undefined && p.path.length > 0 ? p : undefined;
}

/** The operands of a chain of one associative operator: `a && b && c` → [a, b, c]. */
function flatten(expr: Expr, fn: string): Expr[] {
  const c = call(expr);
  return c?.fn === fn ? c.args.flatMap((arg) => flatten(arg, fn)) : [expr];
}

/** `type(claims.x) == string` (either side): a guard that pins claims.x to one scalar type. */
function typeGuardPath(expr: Expr, bound: ReadonlySet<string>): string | undefined {
  const c = call(expr);
  if (c?.fn !== "_==_") return undefined;
  for (const [typeCall, typeName] of [c.args, [...c.args].reverse()]) {
    const t = call(typeCall);
    const name = typeName?.exprKind.case === "identExpr" ? typeName.exprKind.value.name : undefined;
    if (t?.fn !== "type" || name === undefined || ["list", "map", "null_type", "dyn"].includes(name)) continue;
    const p = claimPath(t.target ?? t.args[0], bound);
    if (p !== undefined) return formatInputPath(p);
  }
  return undefined;
}

/** Whether an RE2 pattern can only match the whole input: anchored at both ends, no top-level `|`, no multi-line flag. */
export function isAnchoredPattern(pattern: string): boolean {
  let body = pattern;
  for (let flags = /^\(\?([a-zA-Z]+)\)/.exec(body); flags !== null; flags = /^\(\?([a-zA-Z]+)\)/.exec(body)) {
    if (flags[1]?.includes("m")) return false;
    body = body.slice(flags[0].length);
  }
  const start = body.startsWith("^") ? 1 : body.startsWith("\\A") ? 2 : 0;
  if (start === 0) return false;
  let depth = 0;
  let inClass = false;
  let end = -1;
  for (let i = start; i < body.length; i += 1) {
    const ch = body[i];
    if (ch === "\\") {
      if (body[i + 1] === "z" && i + 2 === body.length && !inClass && depth === 0) end = i;
      i += 1;
      continue;
    }
    if (inClass) {
      if (ch === "]") inClass = false;
      continue;
    }
    if (ch === "[") {
      inClass = true;
      // A `]` right after `[` or `[^` is a literal member.
      if (body[i + 1] === "^") i += 1;
      if (body[i + 1] === "]") i += 1;
    } else if (ch === "(") depth += 1;
    else if (ch === ")") depth -= 1;
    else if (ch === "|" && depth === 0) return false;
    else if (ch === "$" && i === body.length - 1 && depth === 0) end = i;
  }
  return end >= 0;
}

/** The anchored form to suggest: `^(?:…)$` around what the pattern matches once its partial anchors are taken off. */
function anchoredForm(pattern: string): string {
  const flags = /^(\(\?[a-zA-Z]+\))*/.exec(pattern)?.[0] ?? "";
  const core = pattern.slice(flags.length).replace(/^\^/, "").replace(/(?<!\\)\$$/, "");
  return `${flags}${core.includes("|") ? `^(?:${core})$` : `^${core}$`}`;
}

function actionHazard(c: NonNullable<ReturnType<typeof call>>, ctx: Context): string | undefined {
  const [left, right] = c.args;
  const onAction = isScopeField(left, "action", ctx.bound) || (c.fn !== "@in" && isScopeField(right, "action", ctx.bound));
  if (!onAction) return undefined;
  const negated = (c.fn === "_!=_" && !ctx.negated) || ((c.fn === "_==_" || c.fn === "@in") && ctx.negated);
  if (!negated) return undefined;
  return 'negated action check: it grants every action it does not name — "*" (every action, where the condition names it) and any action added later; list the actions granted instead, e.g. scope.action in ["pull", "push"]';
}

function claimHazard(c: NonNullable<ReturnType<typeof call>>, ctx: Context): string | undefined {
  const [left, right] = c.args;
  const path = c.fn === "@in" ? claimPath(left, ctx.bound) : (claimPath(left, ctx.bound) ?? claimPath(right, ctx.bound));
  // `claims.x != null` asks whether the claim is set; it is no deny-list.
  const isNull = (e: Expr | undefined): boolean => e?.exprKind.case === "constExpr" && e.exprKind.value.constantKind.case === "nullValue";
  if (path === undefined || isNull(left) || isNull(right)) return undefined;
  const negated = (c.fn === "_!=_" && !ctx.negated) || ((c.fn === "_==_" || c.fn === "@in") && ctx.negated);
  const text = formatInputPath(path);
  if (!negated || ctx.guarded.has(text)) return undefined;
  const what = c.fn === "@in" ? "negated membership" : "negated equality";
  return `${what} over ${text}: it is true when ${text} is null, a list or a map (the issuer decides the claim's shape), so the condition grants; guard the type — type(${text}) == string && … — or grant by an allow-list (${text} in [...])`;
}

function matchesHazard(c: NonNullable<ReturnType<typeof call>>, ctx: Context): string | undefined {
  if (c.fn !== "matches") return undefined;
  const [subject, patternExpr] = c.target === undefined ? c.args : [c.target, c.args[0]];
  const subjectPath = inputPath(subject, INPUTS, ctx.bound);
  const pattern = stringConstant(patternExpr);
  if (subjectPath === undefined || pattern === undefined || isAnchoredPattern(pattern)) return undefined;
  const text = formatInputPath(subjectPath);
  return `unanchored matches() over ${text}: matches() is a search, so ${JSON.stringify(pattern)} is true for any ${text} that contains a match; anchor it: ${text}.matches(${JSON.stringify(anchoredForm(pattern))})`;
}

/** Every hazard in the condition, in source order. */
export function findHazards(parsed: ParsedCondition): PolicyHazard[] {
  const positions = parsed.sourceInfo?.positions ?? {};
  const hazards: PolicyHazard[] = [];
  const visit = (expr: Expr, ctx: Context): void => {
    const c = call(expr);
    if (c !== undefined) {
      for (const message of [actionHazard(c, ctx), claimHazard(c, ctx), matchesHazard(c, ctx)]) {
        if (message !== undefined) hazards.push({ message, offset: startOffset(expr, positions) });
      }
      if (c.fn === "!_" && c.args[0] !== undefined) return visit(c.args[0], { ...ctx, negated: !ctx.negated });
      if (c.fn === "_&&_" || c.fn === "_||_") {
        const operands = flatten(expr, c.fn);
        // `type(x) == string && …` pins x only where && means "both hold": un-negated.
        const guards = c.fn === "_&&_" && !ctx.negated ? operands.map((o) => typeGuardPath(o, ctx.bound)).filter((g) => g !== undefined) : [];
        const guarded = guards.length === 0 ? ctx.guarded : new Set([...ctx.guarded, ...guards]);
        for (const operand of operands) visit(operand, { ...ctx, guarded });
        return;
      }
      if (c.fn === "_?_:_") {
        const [condition, ...branches] = c.args;
        if (condition !== undefined) visit(condition, { ...ctx, negated: false });
        for (const branch of branches) visit(branch, ctx);
        return;
      }
    }
    forEachChild(expr, ctx.bound, (child, bound) => visit(child, { negated: false, bound, guarded: ctx.guarded }));
  };
  if (parsed.expr !== undefined) visit(parsed.expr, { negated: false, bound: new Set(), guarded: new Set() });
  return hazards.sort((a, b) => (a.offset ?? 0) - (b.offset ?? 0));
}
