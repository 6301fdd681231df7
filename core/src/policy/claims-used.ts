/**
 * Which claims a provider's conditions read: the top-level claim names behind
 * every `claims.X`, `claims["X"]`, `has(claims.X…)` and `"X" in claims`,
 * found by walking the parsed CEL AST (cel-ast.ts), not the source text.
 *
 * The token server logs the values of exactly these claims (worker/src/log.ts)
 * so that `policy replay` can re-decide a recorded request under a new file;
 * a claim no condition reads is never logged. A nested read
 * (`claims["kubernetes.io"].namespace`) counts as its top-level claim
 * (`kubernetes.io`), whose whole value is logged.
 *
 * A condition that reads `claims` as a whole — `claims.all(k, …)`,
 * `claims.exists(…)`, `size(claims)`, a computed key `claims[scope.name]`,
 * `claims` compared or passed anywhere — can't be reduced to a set of names.
 * Such a provider is marked not replayable, and nothing of its claims is
 * logged, rather than logging every claim. A comprehension variable named
 * `claims` shadows the input and is not a read of it.
 */
import { forEachChild, stringConstant, type Expr } from "./cel-ast.ts";
import { linePosition, type CompiledCondition, type CompiledConditions } from "./condition.ts";

export type ClaimsUsed =
  /** `claims`: the top-level claim names read, sorted. */
  | { readonly replayable: true; readonly claims: readonly string[] }
  /** `reason`: where a condition reads `claims` as a whole, e.g. `authz.condition 1:1 reads claims as a whole`. */
  | { readonly replayable: false; readonly reason: string };

const CLAIMS = "claims";

function isClaimsIdent(expr: Expr | undefined, bound: ReadonlySet<string>): boolean {
  return expr?.exprKind.case === "identExpr" && expr.exprKind.value.name === CLAIMS && !bound.has(CLAIMS);
}

/** The claim name `expr` reads directly off `claims` (`claims.X`, `has(claims.X)`, `claims["X"]`, `"X" in claims`), if it is such a read. */
function directClaim(expr: Expr, bound: ReadonlySet<string>): string | undefined {
  const kind = expr.exprKind;
  if (kind.case === "selectExpr") return isClaimsIdent(kind.value.operand, bound) ? kind.value.field : undefined;
  if (kind.case !== "callExpr" || kind.value.target !== undefined) return undefined;
  const [first, second] = kind.value.args;
  if (kind.value.function === "_[_]" && isClaimsIdent(first, bound)) return stringConstant(second);
  if (kind.value.function === "@in" && isClaimsIdent(second, bound)) return stringConstant(first);
  return undefined;
}

/** The claims one compiled condition reads; see the module comment. */
export function claimsUsedByCondition(condition: CompiledCondition): ClaimsUsed {
  const names = new Set<string>();
  let whole: Expr | undefined;
  const visit = (expr: Expr, bound: ReadonlySet<string>): void => {
    if (whole !== undefined) return;
    const name = directClaim(expr, bound);
    if (name !== undefined) {
      names.add(name);
      return;
    }
    if (isClaimsIdent(expr, bound)) {
      whole = expr;
      return;
    }
    forEachChild(expr, bound, visit);
  };
  visit(condition.expr, new Set());
  if (whole !== undefined) {
    const at = linePosition(condition.source, condition.positions[String(whole.id)]);
    const where = at.line === undefined ? "" : ` ${at.line}:${at.column}`;
    return { replayable: false, reason: `${condition.kind}.condition${where} reads claims as a whole (not a fixed claim name)` };
  }
  return { replayable: true, claims: [...names].sort() };
}

const cache = new WeakMap<CompiledConditions, ClaimsUsed>();

/**
 * The union over a provider's authn and authz conditions. Computed once per
 * compiled provider (cached by the object), never per request.
 */
export function claimsUsedByProvider(provider: CompiledConditions): ClaimsUsed {
  const cached = cache.get(provider);
  if (cached !== undefined) return cached;
  const names = new Set<string>();
  let result: ClaimsUsed | undefined;
  for (const condition of [provider.authn, provider.authz]) {
    if (condition === undefined) continue;
    const used = claimsUsedByCondition(condition);
    if (!used.replayable) {
      result = used;
      break;
    }
    for (const name of used.claims) names.add(name);
  }
  result ??= { replayable: true, claims: [...names].sort() };
  cache.set(provider, result);
  return result;
}

/** The values of the used claims the token has (an absent claim is left out: `claimsRead` says it was looked for). */
export function pickClaims(claims: Readonly<Record<string, unknown>>, names: readonly string[]): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const name of names) if (Object.hasOwn(claims, name)) picked[name] = claims[name];
  return picked;
}
