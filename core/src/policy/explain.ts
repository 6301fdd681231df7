/**
 * Why a condition refused: which term of it was false, or which claim was
 * missing or of the wrong type, with the term's source text and its line and
 * column in the condition.
 *
 * Only a refusal is explained, so a grant costs nothing here: evaluate.ts runs
 * the condition's one program, and only when the answer is not `true` does it
 * call {@link explainRefusal}. The first refusal of a compiled condition builds
 * its term tree (the spans of its `&&`/`||`/`!`/ternary terms in the source)
 * and plans each term's program on demand; both are kept beside the compiled
 * condition (a WeakMap), so later refusals only evaluate.
 *
 * The walk, for a term that did not give `true`:
 *  - `a && b && …` false: the first conjunct that is false, explained in turn;
 *    with none false, the first that failed (an error or a non-bool);
 *  - `a || b || …`: every disjunct's reason (none of them was true);
 *  - `!x` false: x was true (the negated term is the reason);
 *  - `c ? a : b`: the test's failure, or the branch it took;
 *  - anything else is a leaf: false, an error (naming the claim that is
 *    missing, or the input whose type matched no overload), or a non-bool.
 * Comprehensions (`exists`, `all`, …) are leaves: their variables exist only
 * inside them.
 */
import { celError, isCelError, plan, unparse, type CelResult } from "@bufbuild/cel";
import { forEachChild, formatInputPath, inputPath, startOffset, type Expr } from "./cel-ast.ts";
import { celTypeName } from "./cel-values.ts";
import { linePosition, type CompiledCondition, type ConditionBindings, type ConditionKind } from "./condition.ts";
import { celEnvironment } from "./cel-environment.ts";

/** How a leaf term failed. */
export type TermOutcome = "false" | "negated_true" | "error" | "not_bool";

export interface FailedTerm {
  readonly outcome: TermOutcome;
  /** The term as written (whitespace collapsed, long terms shortened). */
  readonly text: string;
  /** 1-based, within the condition source. */
  readonly line: number;
  readonly column: number;
  /** error: CEL's message; not_bool: the type it gave. */
  readonly detail?: string;
  /** What the error (or a false comparison across types) is about: `claims.environment is missing`, `claims.exp is double`, `claims.id is double, not string`. */
  readonly input?: string;
}

export interface Explanation {
  readonly condition: ConditionKind;
  readonly terms: readonly FailedTerm[];
}

/** Longest term text an explanation quotes. */
const MAX_TERM_TEXT = 200;

const INPUTS = ["claims", "scope", "service"] as const;

type Shape =
  | { readonly kind: "and" | "or"; readonly terms: readonly Term[] }
  | { readonly kind: "not"; readonly operand: Term }
  | { readonly kind: "ternary"; readonly test: Term; readonly then: Term; readonly otherwise: Term }
  | { readonly kind: "leaf" };

interface Term {
  readonly expr: Expr;
  /** As quoted: whitespace collapsed, shortened to MAX_TERM_TEXT. */
  readonly text: string;
  readonly line: number;
  readonly column: number;
  readonly shape: Shape;
}

interface Tree {
  readonly root: Term;
  readonly nodes: ReadonlyMap<bigint, Expr>;
  readonly programs: Map<bigint, (bindings: ConditionBindings) => CelResult>;
}

interface Span {
  readonly lo: number;
  readonly hi: number;
}

const trees = new WeakMap<CompiledCondition, Tree>();

// ---- spans: where each term is in the source -------------------------------

/**
 * Calls `visit(i, depth)` for each character of source[lo, hi) outside string
 * literals and comments, and for each literal's opening and closing quote;
 * depth counts open (), [] and {}. Stops when visit returns true.
 */
function scan(source: string, span: Span, visit: (i: number, depth: number) => boolean): void {
  let depth = 0;
  for (let i = span.lo; i < span.hi; i++) {
    const ch = source[i];
    if (ch === '"' || ch === "'") {
      const triple = source.startsWith(ch.repeat(3), i);
      const close = triple ? ch.repeat(3) : ch;
      if (visit(i, depth)) return;
      i += close.length;
      while (i < span.hi && !source.startsWith(close, i)) i += source[i] === "\\" ? 2 : 1;
      i += close.length - 1;
      if (i < span.hi && visit(i, depth)) return;
      continue;
    }
    if (ch === "/" && source[i + 1] === "/") {
      while (i < span.hi && source[i] !== "\n") i++;
      continue;
    }
    if (ch === "(" || ch === "[" || ch === "{") depth++;
    else if (ch === ")" || ch === "]" || ch === "}") depth--;
    if (visit(i, ch === "(" || ch === "[" || ch === "{" ? depth - 1 : depth)) return;
  }
}

/** Without the whitespace and `//` comments at either end. */
function trim(source: string, span: Span): Span {
  let first: number | undefined;
  let last = span.lo - 1;
  scan(source, span, (i) => {
    if (!/\s/.test(source[i] ?? "")) {
      first ??= i;
      last = i;
    }
    return false;
  });
  return first === undefined ? { lo: span.lo, hi: span.lo } : { lo: first, hi: last + 1 };
}

/** Trimmed, without parentheses that enclose the whole span. */
function strip(source: string, span: Span): Span {
  let s = trim(source, span);
  while (source[s.lo] === "(" && source[s.hi - 1] === ")") {
    let closesAtEnd = false;
    scan(source, s, (i, depth) => {
      if (depth === 0 && source[i] === ")") {
        closesAtEnd = i === s.hi - 1;
        return true;
      }
      return false;
    });
    if (!closesAtEnd) break;
    s = trim(source, { lo: s.lo + 1, hi: s.hi - 1 });
  }
  return s;
}

/** The pieces of `span` between its top-level `op`s. */
function split(source: string, span: Span, op: "&&" | "||"): Span[] {
  const pieces: Span[] = [];
  let lo = span.lo;
  scan(source, span, (i, depth) => {
    if (depth === 0 && source.startsWith(op, i)) {
      pieces.push(strip(source, { lo, hi: i }));
      lo = i + op.length;
    }
    return false;
  });
  pieces.push(strip(source, { lo, hi: span.hi }));
  return pieces;
}

/** test ? then : otherwise, split at the top-level `?` and its `:`. */
function ternaryParts(source: string, span: Span): [Span, Span, Span] | undefined {
  let question: number | undefined;
  let colon: number | undefined;
  let open = 0;
  scan(source, span, (i, depth) => {
    if (depth !== 0) return false;
    // `.?field` is optional selection, not a ternary.
    if (source[i] === "?" && source[i - 1] !== ".") {
      question ??= i;
      open++;
    } else if (source[i] === ":" && open > 0 && --open === 0) {
      colon = i;
      return true;
    }
    return false;
  });
  if (question === undefined || colon === undefined) return undefined;
  return [strip(source, { lo: span.lo, hi: question }), strip(source, { lo: question + 1, hi: colon }), strip(source, { lo: colon + 1, hi: span.hi })];
}

// ---- the term tree ---------------------------------------------------------

function call(expr: Expr): { fn: string; args: readonly Expr[] } | undefined {
  const kind = expr.exprKind;
  return kind.case === "callExpr" && kind.value.target === undefined ? { fn: kind.value.function, args: kind.value.args } : undefined;
}

/** `a && (b && c)` → [a, b, c]: the planner's nesting of a chain is not the reader's. */
function flatten(expr: Expr, fn: string): Expr[] {
  const c = call(expr);
  return c?.fn === fn ? c.args.flatMap((arg) => flatten(arg, fn)) : [expr];
}

function buildTerm(source: string, positions: Readonly<Record<string, number>>, expr: Expr, span: Span | undefined): Term {
  // Without a span (the text didn't split the way the AST does) a term is quoted as CEL prints it.
  const collapsed = (span === undefined ? unparse(expr) : source.slice(span.lo, span.hi)).replace(/\s+/g, " ");
  const { line = 1, column = 1 } = linePosition(source, span?.lo ?? startOffset(expr, positions) ?? 0);
  const at = { expr, text: collapsed.length > MAX_TERM_TEXT ? `${collapsed.slice(0, MAX_TERM_TEXT - 1)}…` : collapsed, line, column };
  const sub = (e: Expr, s: Span | undefined) => buildTerm(source, positions, e, s);
  const c = call(expr);
  if (c?.fn === "_&&_" || c?.fn === "_||_") {
    const flat = flatten(expr, c.fn);
    const pieces = span && split(source, span, c.fn === "_&&_" ? "&&" : "||");
    const matched = pieces !== undefined && pieces.length === flat.length;
    return { ...at, shape: { kind: c.fn === "_&&_" ? "and" : "or", terms: flat.map((e, i) => sub(e, matched ? pieces[i] : undefined)) } };
  }
  const [first, second, third] = c?.args ?? [];
  if (c?.fn === "!_" && first !== undefined) {
    const operand = span !== undefined && source[span.lo] === "!" ? strip(source, { lo: span.lo + 1, hi: span.hi }) : undefined;
    return { ...at, shape: { kind: "not", operand: sub(first, operand) } };
  }
  if (c?.fn === "_?_:_" && first !== undefined && second !== undefined && third !== undefined) {
    const parts = span && ternaryParts(source, span);
    return { ...at, shape: { kind: "ternary", test: sub(first, parts?.[0]), then: sub(second, parts?.[1]), otherwise: sub(third, parts?.[2]) } };
  }
  return { ...at, shape: { kind: "leaf" } };
}

function treeOf(condition: CompiledCondition): Tree {
  let tree = trees.get(condition);
  if (tree === undefined) {
    const nodes = new Map<bigint, Expr>();
    const index = (e: Expr): void => {
      nodes.set(e.id, e);
      forEachChild(e, new Set(), index);
    };
    index(condition.expr);
    const root = buildTerm(condition.source, condition.positions, condition.expr, strip(condition.source, { lo: 0, hi: condition.source.length }));
    tree = { root, nodes, programs: new Map() };
    trees.set(condition, tree);
  }
  return tree;
}

// ---- evaluating on refusal -------------------------------------------------

function evaluate(tree: Tree, expr: Expr, bindings: ConditionBindings): CelResult {
  let program = tree.programs.get(expr.id);
  if (program === undefined) {
    program = plan(celEnvironment(), expr) as (bindings: ConditionBindings) => CelResult;
    tree.programs.set(expr.id, program);
  }
  try {
    return program(bindings);
  } catch (e) {
    return celError(e);
  }
}

function isMissing(message: string): boolean {
  return message.startsWith("field not found") || message.startsWith("no such key") || message.startsWith("index out of bounds");
}

/** The input an error is about: the claim that is missing, or the inputs of a call no overload matched. */
function describeInput(tree: Tree, error: { message: string; exprId: bigint | undefined }, bindings: ConditionBindings): string | undefined {
  const node = error.exprId === undefined ? undefined : tree.nodes.get(error.exprId);
  if (node === undefined) return undefined;
  if (isMissing(error.message)) {
    const path = inputPath(node, INPUTS, new Set());
    if (path === undefined) return undefined;
    // The error may sit on the map the key is missing from: `claims["kubernetes.io"]` reports at `claims`.
    const key = /^(?:field not found|no such key): (.+)$/.exec(error.message)?.[1];
    const full = key !== undefined && path.path.at(-1) !== key ? { root: path.root, path: [...path.path, key] } : path;
    return `${formatInputPath(full)} is missing`;
  }
  if (node.exprKind.case !== "callExpr") return undefined;
  const operands = [node.exprKind.value.target, ...node.exprKind.value.args];
  const types: string[] = [];
  for (const operand of operands) {
    const path = operand && inputPath(operand, INPUTS, new Set());
    if (operand === undefined || path === undefined) continue;
    const value = evaluate(tree, operand, bindings);
    types.push(isCelError(value) ? `${formatInputPath(path)} fails (${value.message})` : `${formatInputPath(path)} is ${celTypeName(value)}`);
  }
  return types.length > 0 ? types.join(", ") : undefined;
}

const CONSTANT_TYPES: Readonly<Record<string, string>> = { stringValue: "string", int64Value: "int", uint64Value: "uint", doubleValue: "double", boolValue: "bool", nullValue: "null_type" };
const NUMERIC = new Set(["int", "uint", "double"]);

/**
 * A false `input == literal` (or `input in [literals]`) whose input is of
 * another type than every literal: CEL's == is false across types, not an
 * error, so say so — `claims.repository_owner_id is double, not string`.
 */
function typeMismatch(tree: Tree, expr: Expr, bindings: ConditionBindings): string | undefined {
  const c = call(expr);
  if (c === undefined || (c.fn !== "_==_" && c.fn !== "@in")) return undefined;
  const [left, right] = c.args;
  if (left === undefined || right === undefined) return undefined;
  const literalTypes = (e: Expr): string[] | undefined => {
    const kind = e.exprKind;
    if (kind.case === "constExpr") return [CONSTANT_TYPES[kind.value.constantKind.case ?? ""] ?? "?"];
    if (c.fn === "@in" && kind.case === "listExpr") return kind.value.elements.flatMap((el) => literalTypes(el) ?? ["?"]);
    return undefined;
  };
  const [input, literals] = c.fn === "@in" ? [left, literalTypes(right)] : literalTypes(right) ? [left, literalTypes(right)] : [right, literalTypes(left)];
  const path = inputPath(input, INPUTS, new Set());
  if (path === undefined || literals === undefined || literals.length === 0 || literals.includes("?")) return undefined;
  const value = evaluate(tree, input, bindings);
  if (isCelError(value)) return undefined;
  const actual = celTypeName(value);
  const comparable = (t: string) => t === actual || (NUMERIC.has(t) && NUMERIC.has(actual));
  if (literals.some(comparable)) return undefined;
  return `${formatInputPath(path)} is ${actual}, not ${[...new Set(literals)].join(" or ")}`;
}

function leaf(tree: Tree, term: Term, result: CelResult, bindings: ConditionBindings): FailedTerm {
  const at = { text: term.text, line: term.line, column: term.column };
  if (result === false) {
    const input = typeMismatch(tree, term.expr, bindings);
    return { outcome: "false", ...at, ...(input !== undefined && { input }) };
  }
  if (result === true) return { outcome: "negated_true", ...at };
  if (isCelError(result)) {
    const input = describeInput(tree, result, bindings);
    return { outcome: "error", ...at, detail: result.message, ...(input !== undefined && { input }) };
  }
  return { outcome: "not_bool", ...at, detail: celTypeName(result) };
}

/** Why `term`, which gave `result` (anything but true), refused. */
function explainTerm(tree: Tree, term: Term, result: CelResult, bindings: ConditionBindings): FailedTerm[] {
  const shape = term.shape;
  switch (shape.kind) {
    case "and": {
      let failed: [Term, CelResult] | undefined;
      for (const conjunct of shape.terms) {
        const r = evaluate(tree, conjunct.expr, bindings);
        if (r === false) return explainTerm(tree, conjunct, r, bindings);
        if (r !== true) failed ??= [conjunct, r];
      }
      return failed === undefined ? [leaf(tree, term, result, bindings)] : explainTerm(tree, failed[0], failed[1], bindings);
    }
    case "or": {
      const reasons: FailedTerm[] = [];
      for (const disjunct of shape.terms) {
        const r = evaluate(tree, disjunct.expr, bindings);
        if (r !== true) reasons.push(...explainTerm(tree, disjunct, r, bindings));
      }
      return reasons.length > 0 ? reasons : [leaf(tree, term, result, bindings)];
    }
    case "not": {
      const r = evaluate(tree, shape.operand.expr, bindings);
      if (r === true) return [leaf(tree, term, true, bindings)];
      if (r === false) return [leaf(tree, term, result, bindings)];
      return explainTerm(tree, shape.operand, r, bindings);
    }
    case "ternary": {
      const r = evaluate(tree, shape.test.expr, bindings);
      if (r === true) return explainTerm(tree, shape.then, result, bindings);
      if (r === false) return explainTerm(tree, shape.otherwise, result, bindings);
      return explainTerm(tree, shape.test, r, bindings);
    }
    case "leaf":
      return [leaf(tree, term, result, bindings)];
  }
}

/**
 * Explains a refusal: `result` is what the whole condition gave for
 * `bindings` (anything but `true`). Never throws; costs a few sub-term
 * evaluations, and on a condition's first refusal the planning of its terms.
 */
export function explainRefusal(condition: CompiledCondition, bindings: ConditionBindings, result: CelResult): Explanation {
  let terms: FailedTerm[];
  try {
    const tree = treeOf(condition);
    terms = explainTerm(tree, tree.root, result, bindings);
  } catch (e) {
    // Explaining must never turn a refusal into anything else: fall back to the whole condition.
    const message = isCelError(result) ? result.message : `explanation failed: ${e instanceof Error ? e.message : String(e)}`;
    terms = [{ outcome: isCelError(result) ? "error" : result === false ? "false" : "not_bool", text: condition.source.replace(/\s+/g, " ").slice(0, MAX_TERM_TEXT), line: 1, column: 1, detail: message }];
  }
  return { condition: condition.kind, terms };
}

/**
 * Where a condition's first row is in the applied providers file
 * (ProviderConfig.sourceLines); `file` when known (`policy test`), else the
 * line alone (the token server's log: the file is the applied version).
 */
export interface ConditionSource {
  readonly line: number;
  readonly file?: string;
}

/** `at 2:5` in the condition; with its source, `at line 14 (condition 2:5)` or `at providers.yaml:14 (condition 2:5)`. */
function termPosition(term: FailedTerm, source: ConditionSource | undefined): string {
  if (source === undefined) return `${term.line}:${term.column}`;
  const line = source.line + term.line - 1;
  return `${source.file === undefined ? `line ${line}` : `${source.file}:${line}`} (condition ${term.line}:${term.column})`;
}

export function formatFailedTerm(term: FailedTerm, source?: ConditionSource): string {
  const at = `at ${termPosition(term, source)}: ${term.text}`;
  switch (term.outcome) {
    case "false":
      return `false ${at}${term.input === undefined ? "" : ` (${term.input})`}`;
    case "negated_true":
      return `false ${at} (the negated term is true)`;
    case "error":
      return `error ${at}: ${term.detail ?? "evaluation failed"}${term.input === undefined ? "" : ` (${term.input})`}`;
    case "not_bool":
      return `not a bool ${at} (gives ${term.detail ?? "?"})`;
  }
}

/** `authz: false at 1:45: claims.ref == "refs/heads/main"`; several reasons (from `||`) joined by "; ". */
export function formatExplanation(explanation: Explanation, source?: ConditionSource): string {
  return `${explanation.condition}: ${explanation.terms.map((t) => formatFailedTerm(t, source)).join("; ")}`;
}

/**
 * A refusal's reason naming the applied file's lines: the explanation placed
 * with the provider's sourceLines, or the decision's own reason when nothing
 * was explained (the `*` rule) or the row has no lines (stored before them).
 */
export function refusalReason(
  decision: { readonly reason: string; readonly explanation?: Explanation },
  sourceLines: { readonly authn?: number; readonly authz?: number } | undefined,
  file?: string,
): string {
  const line = decision.explanation === undefined ? undefined : sourceLines?.[decision.explanation.condition];
  if (decision.explanation === undefined || line === undefined) return decision.reason;
  return formatExplanation(decision.explanation, { line, ...(file !== undefined && { file }) });
}
