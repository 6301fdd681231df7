/**
 * `policy test FILE --cases cases.yaml`: the expected decisions a CI job
 * checks before a policy goes live. The file:
 *
 *   cases:
 *     - name: main branch may push          # optional; default "case N"
 *       provider: gha                       # optional, as --provider
 *       service: registry.example.com       # optional; default --service
 *       claims: { iss: …, aud: …, exp: … }  # or token: JWT (exactly one)
 *       expect:
 *         "repository:example-org/app:pull,push": allow
 *         "repository:other/app:pull": deny
 *
 * Every mistake is a CasesFileError naming the file and the line.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type YAMLMap } from "yaml";
import { parseScopes, ScopeError, type ResourceScope } from "@jwt-registry-auth/protocol";

export type Expectation = "allow" | "deny";

export interface TestCase {
  readonly name: string;
  readonly line: number;
  readonly provider?: string;
  readonly service?: string;
  readonly claims?: Record<string, unknown>;
  readonly token?: string;
  readonly expect: readonly { readonly scopes: readonly ResourceScope[]; readonly outcome: Expectation; readonly line: number }[];
}

export class CasesFileError extends Error {
  override readonly name = "CasesFileError";
  constructor(file: string, line: number, message: string) {
    super(`${file}:${line}: ${message}`);
  }
}

const CASE_KEYS = new Set(["name", "provider", "service", "claims", "token", "expect"]);

export function parseCasesFile(text: string, file: string): TestCase[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const lineOf = (node: Node | null | undefined): number => (node?.range == null ? 1 : lines.linePos(node.range[0]).line);
  const fail = (node: Node | null | undefined, message: string): never => {
    throw new CasesFileError(file, lineOf(node), message);
  };
  const [first] = doc.errors;
  if (first !== undefined) throw new CasesFileError(file, first.linePos?.[0].line ?? 1, `not valid YAML: ${first.message.split("\n")[0] ?? ""}`);
  const root = doc.contents;
  if (!isMap(root)) return fail(root, "expected a mapping with a `cases:` list");
  const list = root.get("cases", true);
  if (!isSeq(list) || list.items.length === 0) return fail((list as Node | undefined) ?? root, "`cases:` must be a non-empty list");
  for (const pair of root.items) {
    if (!isScalar(pair.key) || pair.key.value !== "cases") fail(pair.key as Node, `unknown key ${JSON.stringify(isScalar(pair.key) ? pair.key.value : pair.key)} (only \`cases\`)`);
  }
  return list.items.map((item, index) => parseCase(item as Node, index, fail, lineOf));
}

function parseCase(item: Node, index: number, fail: (node: Node | null | undefined, message: string) => never, lineOf: (node: Node | null | undefined) => number): TestCase {
  if (!isMap(item)) return fail(item, `case ${index + 1} must be a mapping`);
  const map = item as YAMLMap;
  for (const pair of map.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : "";
    if (!CASE_KEYS.has(key)) fail(pair.key as Node, `unknown key ${JSON.stringify(key)} in case ${index + 1} (known: ${[...CASE_KEYS].join(", ")})`);
  }
  const text = (key: string): string | undefined => {
    const node = map.get(key, true) as Node | undefined;
    if (node === undefined) return undefined;
    if (!isScalar(node) || typeof node.value !== "string" || node.value === "") return fail(node, `${key} must be a non-empty string`);
    return node.value;
  };
  const name = text("name") ?? `case ${index + 1}`;
  const claimsNode = map.get("claims", true) as Node | undefined;
  const token = text("token");
  if ((claimsNode === undefined) === (token === undefined)) fail(item, `${name}: give exactly one of claims and token`);
  let claims: Record<string, unknown> | undefined;
  if (claimsNode !== undefined) {
    if (!isMap(claimsNode)) fail(claimsNode, `${name}: claims must be a mapping`);
    claims = claimsNode.toJSON() as Record<string, unknown>;
  }
  const expectNode = map.get("expect", true) as Node | undefined;
  if (!isMap(expectNode) || expectNode.items.length === 0) return fail(expectNode ?? item, `${name}: expect must map scopes to allow or deny`);
  const expect = expectNode.items.map((pair) => {
    const scopeNode = pair.key as Node;
    const outcomeNode = pair.value as Node;
    if (!isScalar(scopeNode) || typeof scopeNode.value !== "string") return fail(scopeNode, `${name}: a scope must be a string`);
    let scopes: ResourceScope[];
    try {
      scopes = parseScopes([scopeNode.value]);
    } catch (e) {
      if (e instanceof ScopeError) return fail(scopeNode, `${name}: ${e.message}`);
      throw e;
    }
    if (!isScalar(outcomeNode) || (outcomeNode.value !== "allow" && outcomeNode.value !== "deny")) return fail(outcomeNode ?? scopeNode, `${name}: expected outcome must be allow or deny`);
    return { scopes, outcome: outcomeNode.value as Expectation, line: lineOf(scopeNode) };
  });
  const provider = text("provider");
  const service = text("service");
  return {
    name,
    line: lineOf(item),
    expect,
    ...(provider !== undefined && { provider }),
    ...(service !== undefined && { service }),
    ...(claims !== undefined && { claims }),
    ...(token !== undefined && { token }),
  };
}
