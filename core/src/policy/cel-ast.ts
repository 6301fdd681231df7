/**
 * Reading a parsed CEL condition's AST: the shapes the policy lints
 * (hazards.ts) and the `*` rule (wildcard-action.ts) look for. The parser
 * expands macros, so `x.exists(…)` arrives as a comprehension; a comprehension
 * variable named like an input (`scope`, `claims`) shadows it, which is why
 * every reader here takes the set of names bound at that point.
 */
import type { ParsedCondition } from "./static-check.ts";

export type Expr = NonNullable<ParsedCondition["expr"]>;

/** A path into an input variable: `claims["kubernetes.io"].namespace` is root claims, path [kubernetes.io, namespace]. */
export interface InputPath {
  readonly root: string;
  readonly path: readonly (string | bigint)[];
}

export function stringConstant(expr: Expr | undefined): string | undefined {
  const kind = expr?.exprKind;
  return kind?.case === "constExpr" && kind.value.constantKind.case === "stringValue" ? kind.value.constantKind.value : undefined;
}

/** The input path `expr` reads, by field selection or constant index; undefined for anything computed or shadowed. */
export function inputPath(expr: Expr | undefined, inputs: readonly string[], bound: ReadonlySet<string>): InputPath | undefined {
  const kind = expr?.exprKind;
  switch (kind?.case) {
    case "identExpr":
      return inputs.includes(kind.value.name) && !bound.has(kind.value.name) ? { root: kind.value.name, path: [] } : undefined;
    case "selectExpr": {
      if (kind.value.testOnly) return undefined;
      const operand = inputPath(kind.value.operand, inputs, bound);
      return operand && { root: operand.root, path: [...operand.path, kind.value.field] };
    }
    case "callExpr": {
      const [operandExpr, indexExpr] = kind.value.args;
      if (kind.value.function !== "_[_]" || indexExpr?.exprKind.case !== "constExpr") return undefined;
      const constant = indexExpr.exprKind.value.constantKind;
      const index = constant.case === "stringValue" || constant.case === "int64Value" ? constant.value : undefined;
      const operand = index === undefined ? undefined : inputPath(operandExpr, inputs, bound);
      return operand && index !== undefined ? { root: operand.root, path: [...operand.path, index] } : undefined;
    }
    default:
      return undefined;
  }
}

/** `claims["kubernetes.io"].namespace`: how a path reads in a message. */
export function formatInputPath(p: InputPath): string {
  return p.path.reduce<string>(
    (text, step) => (typeof step === "bigint" ? `${text}[${step}]` : /^[A-Za-z_][A-Za-z0-9_]*$/.test(step) ? `${text}.${step}` : `${text}[${JSON.stringify(step)}]`),
    p.root,
  );
}

/** Whether `expr` reads exactly `scope.<field>` (or `scope["<field>"]`). */
export function isScopeField(expr: Expr | undefined, field: string, bound: ReadonlySet<string>): boolean {
  const p = inputPath(expr, ["scope"], bound);
  return p !== undefined && p.path.length === 1 && p.path[0] === field;
}

/** Calls' children and list elements; a comprehension binds its variables in the loop and its accumulator in the result. */
export function forEachChild(expr: Expr, bound: ReadonlySet<string>, visit: (child: Expr, bound: ReadonlySet<string>) => void): void {
  const kind = expr.exprKind;
  const each = (children: readonly (Expr | undefined)[], names: ReadonlySet<string> = bound): void => {
    for (const child of children) if (child !== undefined) visit(child, names);
  };
  switch (kind.case) {
    case "selectExpr":
      return each([kind.value.operand]);
    case "callExpr":
      return each([kind.value.target, ...kind.value.args]);
    case "listExpr":
      return each(kind.value.elements);
    case "structExpr":
      for (const entry of kind.value.entries) each([entry.keyKind.case === "mapKey" ? entry.keyKind.value : undefined, entry.value]);
      return;
    case "comprehensionExpr": {
      const c = kind.value;
      each([c.iterRange, c.accuInit]);
      each([c.loopCondition, c.loopStep], new Set([...bound, c.iterVar, c.accuVar, ...(c.iterVar2 === "" ? [] : [c.iterVar2])]));
      each([c.result], new Set([...bound, c.accuVar]));
      return;
    }
    default:
      return;
  }
}

/** The offset of an expression's first character: the smallest position in its subtree (a call's own position is its operator). */
export function startOffset(expr: Expr, positions: Readonly<Record<string, number>>): number | undefined {
  let first = positions[String(expr.id)];
  forEachChild(expr, new Set(), (child) => {
    const offset = startOffset(child, positions);
    if (offset !== undefined && (first === undefined || offset < first)) first = offset;
  });
  return first;
}
