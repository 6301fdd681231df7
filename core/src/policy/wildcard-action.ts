/**
 * The `*` action means every action, at Distribution and at the proxy (delete
 * included). A deny-list condition such as `scope.action != "delete"` is true
 * for `*`, so evaluating it would hand out delete after all. The rule: a
 * requested `*` is granted only by an authz condition that names it — that
 * compares `scope.action` with the literal "*" (`scope.action == "*"`, or
 * `scope.action in [..., "*"]`) somewhere. Any other condition refuses `*`
 * without being evaluated; one that names it is evaluated as usual.
 */
import { forEachChild, isScopeField, stringConstant, type Expr } from "./cel-ast.ts";
import type { ParsedCondition } from "./static-check.ts";

export const WILDCARD_ACTION = "*";

function comparesActionWithWildcard(expr: Expr, bound: ReadonlySet<string>): boolean {
  if (expr.exprKind.case !== "callExpr") return false;
  const { function: fn, args } = expr.exprKind.value;
  const [left, right] = args;
  if (fn === "_==_") {
    return (isScopeField(left, "action", bound) && stringConstant(right) === WILDCARD_ACTION) || (isScopeField(right, "action", bound) && stringConstant(left) === WILDCARD_ACTION);
  }
  if (fn === "@in" && isScopeField(left, "action", bound) && right?.exprKind.case === "listExpr") {
    return right.exprKind.value.elements.some((element) => stringConstant(element) === WILDCARD_ACTION);
  }
  return false;
}

/** Whether the condition names the `*` action explicitly (see the module comment). */
export function namesWildcardAction(parsed: ParsedCondition): boolean {
  const search = (expr: Expr, bound: ReadonlySet<string>): boolean => {
    if (comparesActionWithWildcard(expr, bound)) return true;
    let found = false;
    forEachChild(expr, bound, (child, names) => {
      found ||= search(child, names);
    });
    return found;
  };
  return parsed.expr !== undefined && search(parsed.expr, new Set());
}
