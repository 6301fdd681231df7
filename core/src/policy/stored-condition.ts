/**
 * The parsed form of a condition as the policy store keeps it, beside its
 * source text (ProviderConfig.parsed): written by `policy apply`
 * (providers/apply-statements.ts), where the parser runs anyway, and read by
 * the token server, which only plans and evaluates (issue 12), so the CEL
 * parser is neither on its request path nor in its bundle.
 *
 * The form is CEL's own `cel.expr.ParsedExpr` (the spec's syntax.proto, so
 * cel-go or any CEL tool can read it) in protobuf's binary encoding, base64,
 * keeping only the expression and `sourceInfo.positions` (every node's start
 * offset: evaluation errors point at the failing node and explanations at
 * each term's start): macro calls are only for unparsing, and explanations
 * quote the source instead. Version 1 stored protobuf JSON, about 20 times
 * the source (a 4,096-character condition took 55-72 KB, against remote D1's
 * 100 KB statement limit); the binary form is a few times the source and
 * needs only the binary reader, which the CEL runtime bundles anyway (its
 * standard library's timestamp()/string() casts keep protobuf's JSON code in
 * the bundle regardless). Version 1 rows are refused with "re-apply": no
 * release wrote them. Beside the form: a format version, the
 * source's length and a 32-bit FNV-1a hash of the source, so a row whose
 * source was edited without re-applying is refused rather than evaluated
 * under an AST that says something else. The hash guards against accidents,
 * not attackers: whoever can write the row can write any AST.
 *
 * This module is the only one that knows the format; it never imports the
 * parser (encode takes an already-parsed condition).
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { base64Decode, base64Encode } from "@bufbuild/protobuf/wire";
import { ParsedExprSchema } from "@bufbuild/cel-spec/cel/expr/syntax_pb.js";
import type { Result } from "@jwt-registry-auth/protocol/result";
import type { CompiledCondition } from "./condition.ts";
import type { ParsedCondition } from "./static-check.ts";

/** Bumped when the stored shape changes; a row of another version is refused with "re-apply". */
export const STORED_CONDITION_VERSION = 2;

export interface StoredCondition {
  readonly v: typeof STORED_CONDITION_VERSION;
  /** The source's length in UTF-16 code units and its FNV-1a hash (8 hex digits). */
  readonly sourceLength: number;
  readonly sourceHash: string;
  /** `cel.expr.ParsedExpr`, protobuf binary in standard base64: `expr` and `sourceInfo.positions` only. */
  readonly ast: string;
}

/** Why a stored form can't be used: every such message ends by saying to re-apply. */
const REAPPLY = "run `policy apply` with the providers file again";

/** FNV-1a over UTF-16 code units: fast, dependency-free, synchronous (crypto.subtle is async). */
export function sourceHash(source: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < source.length; i++) {
    hash ^= source.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}

/** A compiled condition's stored form (compileCondition keeps the AST and positions it was planned from). */
export function encodeCondition(condition: Pick<CompiledCondition, "source" | "expr" | "positions">): StoredCondition {
  const parsed = create(ParsedExprSchema, { expr: condition.expr, sourceInfo: { positions: { ...condition.positions } } });
  return { v: STORED_CONDITION_VERSION, sourceLength: condition.source.length, sourceHash: sourceHash(condition.source), ast: base64Encode(toBinary(ParsedExprSchema, parsed)) };
}

/** Standard base64 with padding, as base64Encode writes it (base64Decode itself skips stray characters). */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The stored form read back, checked against the source it sits beside; never throws. */
export function decodeCondition(source: string, stored: unknown): Result<ParsedCondition, { readonly error: string }> {
  if (!isRecord(stored)) return { ok: false, error: `the stored parsed form is not an object; ${REAPPLY}` };
  if (stored.v !== STORED_CONDITION_VERSION) return { ok: false, error: `the stored parsed form has version ${JSON.stringify(stored.v)}, not ${STORED_CONDITION_VERSION}; ${REAPPLY}` };
  if (stored.sourceLength !== source.length || stored.sourceHash !== sourceHash(source)) {
    return { ok: false, error: `the stored parsed form does not match the condition's source (edited without re-applying?); ${REAPPLY}` };
  }
  if (typeof stored.ast !== "string" || !BASE64.test(stored.ast)) return { ok: false, error: `the stored parsed form is not base64 text; ${REAPPLY}` };
  let parsed: ReturnType<typeof fromBinary<typeof ParsedExprSchema>>;
  try {
    parsed = fromBinary(ParsedExprSchema, base64Decode(stored.ast));
  } catch (e) {
    return { ok: false, error: `the stored parsed form is malformed (${e instanceof Error ? e.message : String(e)}); ${REAPPLY}` };
  }
  const expr = parsed.expr;
  if (expr === undefined || expr.exprKind.case === undefined) return { ok: false, error: `the stored parsed form has no expression; ${REAPPLY}` };
  for (const offset of Object.values(parsed.sourceInfo?.positions ?? {})) {
    if (offset < 0 || offset > source.length) return { ok: false, error: `the stored parsed form has a position outside the source; ${REAPPLY}` };
  }
  return { ok: true, value: { ...parsed, expr } };
}
