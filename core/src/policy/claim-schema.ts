/**
 * Per-issuer claim schemas for `policy validate`: which claims a platform's
 * tokens carry and of what type, so that a typo (`claims.repositry_owner_id`)
 * or a comparison that can never hold (`claims.repository_owner_id == 1`,
 * when GitHub sends the id as a string) is a warning at its line instead of a
 * policy that silently refuses everyone. Static analysis of the CEL AST
 * (cel-ast.ts): `claims.x`, `claims["x"]`, `has(claims.x)`, `"x" in claims`,
 * nested `claims["kubernetes.io"].namespace` where the schema knows the map's
 * fields, and `==`/`!=`/`in [...]` against literals of another type.
 *
 * Which schema applies is decided by the provider's issuer: the multi-tenant
 * platforms through shared-issuer.ts's recognition, Kubernetes by an issuer
 * that looks like a cluster's (the provider model has no platform setting).
 * The data, one file per platform, is in claim-schemas/ and is tested against
 * testkit/src/claim-shapes so it can't drift from the real tokens.
 */
import { parse } from "@bufbuild/cel";
import { forEachChild, formatInputPath, inputPath, startOffset, type Expr, type InputPath } from "./cel-ast.ts";
import { sharedIssuerOf } from "./shared-issuer.ts";
import { BITBUCKET_CLAIMS } from "./claim-schemas/bitbucket.ts";
import { BUILDKITE_CLAIMS } from "./claim-schemas/buildkite.ts";
import { CIRCLECI_CLAIMS } from "./claim-schemas/circleci.ts";
import { GITHUB_CLAIMS } from "./claim-schemas/github.ts";
import { GITLAB_CLAIMS } from "./claim-schemas/gitlab.ts";
import { KUBERNETES_CLAIMS } from "./claim-schemas/kubernetes.ts";
import { TERRAFORM_CLAIMS } from "./claim-schemas/terraform.ts";

/** CEL's view of a JSON claim: numbers are doubles (cel-values.ts), so "number" compares with int and double literals alike. */
export type ClaimType = "string" | "number" | "bool" | "list" | "map" | "null";
export type ClaimSpec = ClaimType | readonly ClaimType[] | { readonly type: "map"; readonly fields: ClaimSpecs };
export type ClaimSpecs = Readonly<Record<string, ClaimSpec>>;

export interface ClaimSchema {
  readonly platform: string;
  readonly claims: ClaimSpecs;
}

/** The registered claims every workload token may carry (RFC 7519). */
const REGISTERED: ClaimSpecs = { iss: "string", sub: "string", aud: ["string", "list"], exp: "number", nbf: "number", iat: "number", jti: "string" };

const schema = (platform: string, claims: ClaimSpecs): ClaimSchema => ({ platform, claims: { ...REGISTERED, ...claims } });

export const CLAIM_SCHEMAS = {
  github: schema("GitHub Actions", GITHUB_CLAIMS),
  gitlab: schema("GitLab CI/CD", GITLAB_CLAIMS),
  buildkite: schema("Buildkite", BUILDKITE_CLAIMS),
  circleci: schema("CircleCI", CIRCLECI_CLAIMS),
  bitbucket: schema("Bitbucket Pipelines", BITBUCKET_CLAIMS),
  terraform: schema("HCP Terraform", TERRAFORM_CLAIMS),
  kubernetes: schema("Kubernetes service account", KUBERNETES_CLAIMS),
} as const;

/** An issuer that is a cluster's service-account issuer: in-cluster names, EKS, GKE, AKS. */
function looksLikeKubernetes(url: URL): boolean {
  const host = url.hostname.toLowerCase();
  return (
    host === "kubernetes.default.svc" ||
    host.startsWith("kubernetes.default.svc.") ||
    /^oidc\.eks\.[a-z0-9-]+\.amazonaws\.com$/.test(host) ||
    (host === "container.googleapis.com" && url.pathname.includes("/clusters/")) ||
    /(^|\.)oic\.prod-aks\.azure\.com$/.test(host)
  );
}

/** The schema for a provider's issuer, or undefined when the platform is not known (then nothing is checked). */
export function claimSchemaFor(issuer: string): ClaimSchema | undefined {
  const shared = sharedIssuerOf(issuer);
  if (shared !== undefined) {
    if (shared.platform.startsWith("GitHub")) return CLAIM_SCHEMAS.github;
    if (shared.platform.startsWith("GitLab")) return CLAIM_SCHEMAS.gitlab;
    if (shared.platform === "Buildkite") return CLAIM_SCHEMAS.buildkite;
    if (shared.platform === "CircleCI") return CLAIM_SCHEMAS.circleci;
    if (shared.platform === "Bitbucket Pipelines") return CLAIM_SCHEMAS.bitbucket;
    if (shared.platform === "HCP Terraform") return CLAIM_SCHEMAS.terraform;
  }
  try {
    return looksLikeKubernetes(new URL(issuer)) ? CLAIM_SCHEMAS.kubernetes : undefined;
  } catch {
    return undefined;
  }
}

export interface ClaimSchemaFinding {
  readonly message: string;
  /** Offset into the condition source. */
  readonly offset?: number;
}

function typesOf(spec: ClaimSpec): readonly ClaimType[] {
  return typeof spec === "string" ? [spec] : Array.isArray(spec) ? (spec as readonly ClaimType[]) : ["map"];
}

/** Optimal string alignment distance, small strings only. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[];
      const prev = d[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

/** The known name closest to `name`, if one is close enough to be a typo. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  let best: { name: string; d: number } | undefined;
  for (const candidate of known) {
    const d = distance(name.toLowerCase(), candidate.toLowerCase());
    if (d <= Math.max(2, Math.floor(candidate.length / 4)) && (best === undefined || d < best.d)) best = { name: candidate, d };
  }
  return best?.name;
}

function literalType(expr: Expr | undefined): ClaimType | undefined {
  const kind = expr?.exprKind;
  if (kind?.case !== "constExpr") return undefined;
  switch (kind.value.constantKind.case) {
    case "stringValue":
      return "string";
    case "int64Value":
    case "uint64Value":
    case "doubleValue":
      return "number";
    case "boolValue":
      return "bool";
    case "nullValue":
      return "null";
    default:
      return undefined;
  }
}

const LITERAL_TEXT: Readonly<Record<ClaimType, string>> = { string: "a string", number: "a number", bool: "a bool", list: "a list", map: "a map", null: "null" };

/** The spec of a claims path, or a finding when a step of it is not in the schema. */
function resolve(path: InputPath, schema: ClaimSchema): { spec?: ClaimSpec; unknown?: string } {
  let specs: ClaimSpecs | undefined = schema.claims;
  let spec: ClaimSpec | undefined;
  const walked: (string | bigint)[] = [];
  for (const step of path.path) {
    if (specs === undefined) return {}; // a list or a map without known fields: nothing more to check
    if (typeof step !== "string") return {};
    spec = specs[step];
    if (spec === undefined) {
      const shown = formatInputPath({ root: "claims", path: [...walked, step] });
      const guess = closestName(step, Object.keys(specs));
      const hint = guess === undefined ? "" : `; did you mean ${formatInputPath({ root: "claims", path: [...walked, guess] })}?`;
      return { unknown: `${shown} is not a claim of ${schema.platform} tokens${hint}` };
    }
    walked.push(step);
    specs = typeof spec === "object" && !Array.isArray(spec) ? (spec as { fields: ClaimSpecs }).fields : undefined;
  }
  return spec === undefined ? {} : { spec };
}

const COMPARISONS = new Set(["_==_", "_!=_"]);

/** Every unknown claim and literal type mismatch in one condition. A condition that does not parse is the compiler's to report. */
export function checkClaimSchema(source: string, schema: ClaimSchema): ClaimSchemaFinding[] {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(source);
  } catch {
    return [];
  }
  const positions = parsed.sourceInfo?.positions ?? {};
  const findings: ClaimSchemaFinding[] = [];
  const report = (expr: Expr, message: string): void => {
    const offset = startOffset(expr, positions);
    findings.push({ message, ...(offset !== undefined && { offset }) });
  };
  /** A claims path read by `expr`, including has()'s test-only select and `"x" in claims`. */
  const claimsPath = (expr: Expr, bound: ReadonlySet<string>): InputPath | undefined => {
    const kind = expr.exprKind;
    if (kind.case === "selectExpr" && kind.value.testOnly) {
      const operand = inputPath(kind.value.operand, ["claims"], bound);
      return operand && { root: operand.root, path: [...operand.path, kind.value.field] };
    }
    if (kind.case === "callExpr" && kind.value.function === "@in") {
      const [needle, haystack] = kind.value.args;
      const container = inputPath(haystack, ["claims"], bound);
      const key = needle?.exprKind.case === "constExpr" && needle.exprKind.value.constantKind.case === "stringValue" ? needle.exprKind.value.constantKind.value : undefined;
      const spec = container === undefined ? undefined : container.path.length === 0 ? undefined : resolve(container, schema).spec;
      // `"x" in claims` (or in a map claim) asks for a key; `x in claims.list` asks for an element.
      if (container !== undefined && key !== undefined && (container.path.length === 0 || (spec !== undefined && typesOf(spec).includes("map")))) return { root: "claims", path: [...container.path, key] };
      return undefined;
    }
    const p = inputPath(expr, ["claims"], bound);
    return p !== undefined && p.path.length > 0 ? p : undefined;
  };
  const checkTypes = (expr: Expr, bound: ReadonlySet<string>): void => {
    const kind = expr.exprKind;
    if (kind.case !== "callExpr") return;
    const [left, right] = kind.value.args;
    if (left === undefined || right === undefined) return;
    const pairs: [Expr, Expr[]][] = [];
    if (COMPARISONS.has(kind.value.function)) pairs.push([left, [right]], [right, [left]]);
    if (kind.value.function === "@in" && right.exprKind.case === "listExpr") pairs.push([left, right.exprKind.value.elements]);
    for (const [side, literals] of pairs) {
      const p = inputPath(side, ["claims"], bound);
      if (p === undefined || p.path.length === 0) continue;
      const { spec } = resolve(p, schema);
      if (spec === undefined) continue;
      const types = typesOf(spec);
      for (const literal of literals) {
        const type = literalType(literal);
        if (type === undefined || types.includes(type)) continue;
        const example = types.includes("string") && type === "number" ? ` (quote it: ${formatInputPath(p)} == "${literalText(literal)}")` : "";
        report(literal, `${formatInputPath(p)} is ${types.map((t) => LITERAL_TEXT[t]).join(" or ")} in ${schema.platform} tokens, compared here with ${LITERAL_TEXT[type]}, which it never equals${example}`);
      }
    }
  };
  const visit = (expr: Expr, bound: ReadonlySet<string>): void => {
    const p = claimsPath(expr, bound);
    if (p !== undefined) {
      const { unknown } = resolve(p, schema);
      if (unknown !== undefined) {
        report(expr, unknown);
        return;
      }
    }
    checkTypes(expr, bound);
    forEachChild(expr, bound, visit);
  };
  visit(parsed.expr, new Set());
  return findings;
}

function literalText(expr: Expr): string {
  const kind = expr.exprKind;
  return kind.case === "constExpr" ? String(kind.value.constantKind.value) : "";
}
