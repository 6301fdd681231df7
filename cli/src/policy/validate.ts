/**
 * `policy validate FILE [--strict]`: the file's errors and warnings, plus the
 * claim-schema findings (core/src/policy/claim-schema.ts): a claim the
 * provider's platform never sends, or a literal of a type the claim never has.
 * They are warnings (the file still loads and applies: a claim can be new, or
 * an issuer unusual); --strict makes them errors, for CI.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, Scalar, type Node } from "yaml";
import type { Diagnostic } from "@jwt-registry-auth/core/providers/config";
import type { ProviderConfig } from "@jwt-registry-auth/core/providers/model";
import { checkClaimSchema, claimSchemaFor } from "@jwt-registry-auth/core/policy/claim-schema";
import { EXIT_FAILED, EXIT_OK, parseCommandArgs, type Io } from "../io.ts";
import { loadPolicyFile, printDiagnostics } from "./load.ts";

export const VALIDATE_HELP = `Usage: jwt-registry-auth policy validate FILE [--strict]

Checks FILE (YAML) and prints every error and warning as file:line:column:
sizes first (the file at most 1 MiB, each field within its limit), then the
fields and the CEL conditions. Warnings include policy hazards (negated action
checks, unanchored matches(), negated membership over claims), each with its
safe form; see docs/policy.md, "Fail-closed patterns"; and, for a provider
whose issuer is a known platform (GitHub Actions, GitLab, Buildkite, CircleCI,
Bitbucket Pipelines, HCP Terraform, a Kubernetes cluster), claims its tokens
never carry ("did you mean …?") and comparisons with a literal of the wrong
type; see docs/policy.md, "Claim schemas".

  --strict   claim-schema findings are errors

Exit status: 0 valid (warnings allowed), 1 errors, 2 usage.`;

/** Where a condition's offset is in the file: the scalar's start, plus the lines and columns into its text. */
function positionIn(text: string, lines: LineCounter, node: Scalar, source: string, offset: number): { line: number; column: number } {
  const start = lines.linePos(node.range?.[0] ?? 0);
  const before = source.slice(0, offset).split("\n");
  const inLine = (before.at(-1) ?? "").length;
  if (node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED) {
    const line = start.line + before.length;
    // The block's indentation is its first content line's; the source keeps what is deeper.
    const indent = /^[ \t]*/.exec(text.split("\n")[start.line] ?? "")?.[0].length ?? 0;
    return { line, column: indent + inLine + 1 };
  }
  const quote = node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE ? 1 : 0;
  return before.length === 1 ? { line: start.line, column: start.col + quote + inLine } : { line: start.line + before.length - 1, column: inLine + 1 };
}

/** The `condition` scalar of providers[index].authn / .authz, if written as one. */
function conditionNode(root: Node | null, index: number, kind: "authn" | "authz"): Scalar | undefined {
  if (!isMap(root)) return undefined;
  const list = root.get("providers", true);
  const item = isSeq(list) ? list.items[index] : undefined;
  const field = isMap(item) ? item.get(kind, true) : undefined;
  const condition = isMap(field) ? field.get("condition", true) : undefined;
  return isScalar(condition) ? condition : undefined;
}

/** The claim-schema findings of every provider, placed at their file:line:column. */
export function claimSchemaDiagnostics(file: string, text: string, providers: readonly ProviderConfig[]): Diagnostic[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const found: Diagnostic[] = [];
  providers.forEach((provider, index) => {
    const schema = claimSchemaFor(provider.issuer);
    if (schema === undefined) return;
    for (const kind of ["authn", "authz"] as const) {
      const source = provider[kind];
      if (source === undefined) continue;
      const node = conditionNode(doc.contents, index, kind);
      for (const finding of checkClaimSchema(source, schema)) {
        const at = node === undefined ? { line: 1, column: 1 } : positionIn(text, lines, node, source, finding.offset ?? 0);
        found.push({ file, ...at, message: `provider ${JSON.stringify(provider.name)} ${kind}.condition: ${finding.message}` });
      }
    }
  });
  return found;
}

export async function policyValidateCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { strict: { type: "boolean" } }, { min: 1, max: 1, names: "FILE" });
  const { file, result, text } = loadPolicyFile(positionals[0] as string);
  const schema = result.errors.length > 0 ? [] : claimSchemaDiagnostics(file, text, result.providers);
  const errors = [...result.errors, ...(values.strict === true ? schema : [])];
  const warnings = [...result.warnings, ...(values.strict === true ? [] : schema)];
  printDiagnostics(io, { providers: result.providers, errors, warnings });
  const names = result.providers.map((p) => p.name).join(", ");
  const counts = `${errors.length} error(s), ${warnings.length} warning(s)`;
  if (errors.length > 0) {
    io.out(`${file}: invalid: ${counts}`);
    return EXIT_FAILED;
  }
  io.out(`${file}: valid: ${result.providers.length} provider(s)${names === "" ? "" : ` (${names})`}, ${counts}`);
  return EXIT_OK;
}
