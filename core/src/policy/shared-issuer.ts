/**
 * The shared-issuer guard. Some issuers sign tokens for every customer of a
 * platform with one `iss` (GitHub Actions, GitLab.com, Buildkite, HCP
 * Terraform): checking the issuer and the signature says "some customer of
 * that platform", not "us". A provider on such an issuer must say which
 * customer in its authn, by an immutable id: names (`repository_owner`,
 * `namespace_path`, `organization_slug`) can be deleted or renamed and then
 * registered again by someone else.
 *
 * The rule, checked on the CEL AST (not the text): authn must *require* an
 * owner-id claim to equal a literal (`claims.repository_owner_id == "1"`,
 * `claims["repository_owner_id"] in ["1", "2"]`), that is, the pin must hold
 * whenever the condition is true. `requiredPins` computes what must hold for
 * an expression to be true (or false, under `!`):
 *  - `a && b` is true only if both are: the pins of either;
 *  - `a || b` is true if either is: only the claims both sides pin
 *    (`a || claims.repository_owner_id == "1"` pins nothing);
 *  - `!x` is true only if `x` is false, and De Morgan follows (`!(a != "1")`
 *    pins: CEL's `!=` is exactly the negation of `==`, and an error refuses);
 *  - `c ? t : f`: the pins of (c and t) that (not c and f) also has; a
 *    constant `false` can never be true, so it pins everything
 *    (`c ? claims.repository_owner_id == "1" : false` pins);
 *  - `has(claims.x)` adds nothing, so `has(x) && x == "1"` pins and
 *    `!has(x) || x == "1"` does not (an absent claim would log in);
 *  - comprehensions, computed values (`int(claims.x) == 1`) and comparisons
 *    with non-literals pin nothing: the guard errs on the side of asking.
 * Only authn counts: authn is what lets a token log in at all (and what a
 * refresh re-checks); an authz pin alone still authenticates every tenant.
 */
import { parse } from "@bufbuild/cel";
import { formatInputPath, inputPath, startOffset, type Expr } from "./cel-ast.ts";
import type { ParsedCondition } from "./static-check.ts";

/** The per-provider opt-out (`sharedIssuer: unpinned-acknowledged`): the missing pin is a warning, also shown in /healthz. */
export const UNPINNED_ACKNOWLEDGED = "unpinned-acknowledged";

export interface SharedIssuer {
  /** "GitHub Actions", for messages. */
  readonly platform: string;
  /** What one customer is: "owner (organization or user)". */
  readonly tenant: string;
  /**
   * How the issuer itself relates to the tenant: `shared` (one issuer for all;
   * authn must pin), `id` (the issuer URL carries the tenant's immutable id:
   * pinned by the iss check), `name` (the URL carries a re-registrable name:
   * authn should pin the id), `malformed` (a platform's host without the
   * tenant the URL must carry).
   */
  readonly issuerPins: "shared" | "id" | "name" | "malformed";
  /** Immutable claims, any of which pins the tenant (the first is the one to suggest). */
  readonly idClaims: readonly string[];
  /** Claims that pin by a name only: a warning naming idClaims[0]. */
  readonly nameClaims: readonly string[];
  /** What a pin looks like, for messages: `claims.repository_owner_id == "<owner id>"`. */
  readonly example: string;
  /** For `malformed`: the issuer's form. */
  readonly issuerForm?: string;
}

const GITHUB: Omit<SharedIssuer, "issuerPins"> = {
  platform: "GitHub Actions",
  tenant: "GitHub owner (organization or user)",
  idClaims: ["repository_owner_id", "repository_id"],
  nameClaims: ["repository_owner", "repository", "sub", "workflow_ref", "job_workflow_ref"],
  example: 'claims.repository_owner_id == "<owner id>"',
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The known multi-tenant issuer an `iss` belongs to, if any (docs/policy.md, "Shared issuers"). */
export function sharedIssuerOf(issuer: string): SharedIssuer | undefined {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    return undefined;
  }
  const host = url.hostname.toLowerCase();
  const path = url.pathname.replace(/\/+$/, "");
  // github.com's issuer, and its per-enterprise form token.actions.githubusercontent.com/<enterprise> (still every org of the enterprise).
  if (host === "token.actions.githubusercontent.com") return { ...GITHUB, issuerPins: "shared" };
  // GitHub Enterprise Server: https://HOST/_services/token signs for every organization on the instance.
  if (path === "/_services/token") return { ...GITHUB, platform: "GitHub Enterprise Server Actions", issuerPins: "shared" };
  if (host === "gitlab.com") {
    return {
      platform: "GitLab.com CI/CD",
      tenant: "GitLab group or user namespace",
      issuerPins: "shared",
      idClaims: ["namespace_id", "project_id"],
      nameClaims: ["namespace_path", "project_path", "sub", "ci_config_ref_uri", "ci_config_ref"],
      example: 'claims.namespace_id == "<namespace id>"',
    };
  }
  if (host === "agent.buildkite.com") {
    return {
      platform: "Buildkite",
      tenant: "Buildkite organization",
      issuerPins: "shared",
      idClaims: ["organization_id"],
      nameClaims: ["organization_slug", "sub"],
      example: 'claims.organization_id == "<organization UUID>" (request it with buildkite-agent oidc request-token --claim organization_id)',
    };
  }
  if (host === "app.terraform.io") {
    return {
      platform: "HCP Terraform",
      tenant: "HCP Terraform organization",
      issuerPins: "shared",
      idClaims: ["terraform_organization_id", "terraform_project_id", "terraform_workspace_id"],
      nameClaims: ["terraform_organization_name", "terraform_project_name", "terraform_workspace_name", "sub"],
      example: 'claims.terraform_organization_id == "org-<id>"',
    };
  }
  if (host === "oidc.circleci.com") {
    // The issuer is per organization: https://oidc.circleci.com/org/<organization UUID>; the iss check pins it.
    const match = /^\/org\/([^/]+)$/.exec(path);
    return {
      platform: "CircleCI",
      tenant: "CircleCI organization",
      issuerPins: match?.[1] !== undefined && UUID.test(match[1]) ? "id" : "malformed",
      idClaims: [],
      nameClaims: [],
      example: "issuer: https://oidc.circleci.com/org/<organization id>",
      issuerForm: "https://oidc.circleci.com/org/<organization id> (a UUID: Organization Settings → Overview)",
    };
  }
  if (host === "api.bitbucket.org") {
    // https://api.bitbucket.org/2.0/workspaces/<workspace>/pipelines-config/identity/oidc: per workspace, but by its slug,
    // which the workspace's admins can change (and someone else can then take).
    const named = /^\/2\.0\/workspaces\/[^/]+\/pipelines-config\/identity\/oidc$/.test(path);
    return {
      platform: "Bitbucket Pipelines",
      tenant: "Bitbucket workspace",
      issuerPins: named ? "name" : "shared",
      idClaims: ["workspaceUuid", "repositoryUuid"],
      nameClaims: [],
      example: 'claims.workspaceUuid == "{<workspace UUID>}"',
    };
  }
  return undefined;
}

/** A pin: a claim (top-level key) required to equal a literal (`eq`), or to start with one (`prefix`, a name pin only). */
interface Pin {
  readonly claim: string;
  readonly kind: "eq" | "prefix";
  readonly offset?: number;
  /** Some literal it is compared with is a number: every id claim of these platforms is a string, which no number equals. */
  readonly numeric?: boolean;
}

/** What must hold when an expression has the truth value asked for: pins by claim, or NEVER (it can't have that value). */
type Facts = ReadonlyMap<string, Pin> | "never";
const NONE: Facts = new Map();

function and(parts: readonly Facts[]): Facts {
  if (parts.includes("never")) return "never";
  const out = new Map<string, Pin>();
  for (const part of parts) for (const [k, v] of part as ReadonlyMap<string, Pin>) if (!out.has(k) || (out.get(k)?.kind === "prefix" && v.kind === "eq")) out.set(k, v);
  return out;
}

function or(parts: readonly Facts[]): Facts {
  const live = parts.filter((p): p is ReadonlyMap<string, Pin> => p !== "never");
  const [first, ...rest] = live;
  if (first === undefined) return "never";
  const out = new Map<string, Pin>();
  for (const [k, v] of first) {
    const others = rest.map((r) => r.get(k));
    if (others.some((o) => o === undefined)) continue;
    // Pinned on every side; it is an equality pin only if every side's is.
    const numeric = v.numeric === true || others.some((o) => o?.numeric === true);
    out.set(k, { ...v, kind: others.every((o) => o?.kind === "eq") ? v.kind : "prefix", ...(numeric && { numeric }) });
  }
  return out;
}

function isLiteral(expr: Expr | undefined): boolean {
  const kind = expr?.exprKind;
  if (kind?.case !== "constExpr") return false;
  const c = kind.value.constantKind;
  return (c.case === "stringValue" && c.value !== "") || isNumber(expr);
}

function isNumber(expr: Expr | undefined): boolean {
  const c = expr?.exprKind.case === "constExpr" ? expr.exprKind.value.constantKind.case : undefined;
  return c === "int64Value" || c === "uint64Value" || c === "doubleValue";
}

/** `claims.x` or `claims["x"]` (a top-level claim), not shadowed. */
function topClaim(expr: Expr | undefined, bound: ReadonlySet<string>): string | undefined {
  const p = inputPath(expr, ["claims"], bound);
  const [key] = p?.path ?? [];
  return p !== undefined && p.path.length === 1 && typeof key === "string" ? key : undefined;
}

/** The pin a comparison makes when it is true, if any. */
function comparisonPin(fn: string, target: Expr | undefined, args: readonly Expr[], offset: number | undefined): Pin | undefined {
  const none = new Set<string>();
  const [left, right] = args;
  if (fn === "_==_") {
    const claim = isLiteral(right) ? topClaim(left, none) : isLiteral(left) ? topClaim(right, none) : undefined;
    return claim === undefined ? undefined : { claim, kind: "eq", offset, ...((isNumber(left) || isNumber(right)) && { numeric: true }) };
  }
  if (fn === "@in") {
    const list = right?.exprKind.case === "listExpr" ? right.exprKind.value.elements : undefined;
    const claim = list !== undefined && list.length > 0 && list.every(isLiteral) ? topClaim(left, none) : undefined;
    return claim === undefined ? undefined : { claim, kind: "eq", offset, ...(list?.some(isNumber) === true && { numeric: true }) };
  }
  if (fn === "startsWith") {
    const [subject, prefix] = target === undefined ? args : [target, args[0]];
    const claim = isLiteral(prefix) ? topClaim(subject, none) : undefined;
    return claim === undefined ? undefined : { claim, kind: "prefix", offset };
  }
  return undefined;
}

/** What must hold for `expr` to be `truth` (see the module comment). Comprehensions are not entered: nothing they test is required. */
function facts(expr: Expr | undefined, truth: boolean, positions: Readonly<Record<string, number>>): Facts {
  const kind = expr?.exprKind;
  if (expr === undefined || kind === undefined) return NONE;
  if (kind.case === "constExpr" && kind.value.constantKind.case === "boolValue") return kind.value.constantKind.value === truth ? NONE : "never";
  if (kind.case !== "callExpr") return NONE;
  const { function: fn, target, args } = kind.value;
  switch (fn) {
    case "!_":
      return facts(args[0], !truth, positions);
    case "_&&_":
      return truth ? and(args.map((a) => facts(a, true, positions))) : or(args.map((a) => facts(a, false, positions)));
    case "_||_":
      return truth ? or(args.map((a) => facts(a, true, positions))) : and(args.map((a) => facts(a, false, positions)));
    case "_?_:_": {
      const [condition, then, otherwise] = args;
      return or([and([facts(condition, true, positions), facts(then, truth, positions)]), and([facts(condition, false, positions), facts(otherwise, truth, positions)])]);
    }
    case "_!=_": {
      if (truth) return NONE;
      const pin = comparisonPin("_==_", target, args, startOffset(expr, positions));
      return pin === undefined ? NONE : new Map([[pin.claim, pin]]);
    }
    default: {
      if (!truth) return NONE;
      const pin = comparisonPin(fn, target, args, startOffset(expr, positions));
      return pin === undefined ? NONE : new Map([[pin.claim, pin]]);
    }
  }
}

/** The claims a condition requires to equal (or, for `prefix`, start with) a literal whenever it is true; "never" if it can't be true. */
export function requiredPins(parsed: ParsedCondition): ReadonlyMap<string, Pin> | "never" {
  return facts(parsed.expr, true, parsed.sourceInfo?.positions ?? {});
}

export interface SharedIssuerFinding {
  readonly severity: "error" | "warning";
  readonly message: string;
  /** Where: the issuer field, the authn condition, or an offset into the authn source. */
  readonly at: "issuer" | "authn" | "sharedIssuer";
  readonly offset?: number;
}

export interface SharedIssuerInput {
  readonly name: string;
  readonly issuer: string;
  readonly authn?: string;
  readonly sharedIssuer?: string;
}

const claimText = (claim: string): string => formatInputPath({ root: "claims", path: [claim] });
const orList = (claims: readonly string[]): string => claims.map(claimText).join(" or ");

/** The guard for one provider (see the module comment); an authn that doesn't parse is the compiler's to report. */
export function checkSharedIssuer(provider: SharedIssuerInput): SharedIssuerFinding[] {
  const shared = sharedIssuerOf(provider.issuer);
  const acknowledged = provider.sharedIssuer === UNPINNED_ACKNOWLEDGED;
  const who = `provider ${JSON.stringify(provider.name)}`;
  const unneeded = (why: string): SharedIssuerFinding[] =>
    acknowledged ? [{ severity: "warning", at: "sharedIssuer", message: `sharedIssuer: ${UNPINNED_ACKNOWLEDGED} has no effect: ${why}; remove it` }] : [];
  if (shared === undefined) return unneeded(`${provider.issuer} is not a known shared issuer`);
  const severity = acknowledged ? "warning" : "error";
  const optOut = acknowledged ? ` (acknowledged with sharedIssuer: ${UNPINNED_ACKNOWLEDGED}; /healthz lists it)` : ` — or, if that is really meant, set sharedIssuer: ${UNPINNED_ACKNOWLEDGED}`;

  if (shared.issuerPins === "id") return unneeded(`the ${shared.platform} issuer carries the ${shared.tenant}'s id, so the issuer check pins it`);
  if (shared.issuerPins === "malformed") {
    return [{ severity, at: "issuer", message: `${who}: a ${shared.platform} issuer must name the ${shared.tenant}: ${shared.issuerForm ?? ""}${optOut}` }];
  }

  let required: ReadonlyMap<string, Pin> | "never" = new Map();
  if (provider.authn !== undefined) {
    try {
      required = requiredPins(parse(provider.authn));
    } catch {
      return [];
    }
  }
  if (required === "never") return unneeded("authn can never be true");
  const pins = required;
  const idPin = shared.idClaims.find((c) => pins.get(c)?.kind === "eq");
  if (idPin !== undefined) {
    const pin = pins.get(idPin);
    const numeric: SharedIssuerFinding[] =
      pin?.numeric === true
        ? [
            {
              severity: "warning",
              at: "authn",
              ...(pin.offset !== undefined && { offset: pin.offset }),
              message: `${who}: ${shared.platform} sends ${claimText(idPin)} as a string, which a number never equals, so this pin lets nobody in; quote the id (${claimText(idPin)} == "1234567")`,
            },
          ]
        : [];
    return [...numeric, ...unneeded(`authn pins ${claimText(idPin)}`)];
  }

  const [suggested = ""] = shared.idClaims;
  const fix = `pin ${orList(shared.idClaims)} by equality or membership with a literal in a conjunct every path needs, e.g. ${shared.example}`;
  if (shared.issuerPins === "name") {
    return [
      {
        severity: "warning",
        at: "issuer",
        message: `${who}: the ${shared.platform} issuer names the ${shared.tenant} by its slug, which can be changed and then taken by someone else; ${fix}`,
      },
    ];
  }
  const namePin = shared.nameClaims.map((c) => pins.get(c)).find((p) => p !== undefined);
  if (namePin !== undefined) {
    return [
      {
        severity: "warning",
        at: "authn",
        ...(namePin.offset !== undefined && { offset: namePin.offset }),
        message: `${who} pins the ${shared.tenant} of the shared ${shared.platform} issuer by ${claimText(namePin.claim)}, a name: names can be deleted or renamed and registered again by someone else; pin the immutable ${claimText(suggested)} instead (${shared.example})`,
      },
    ];
  }
  if (provider.authn === undefined) {
    return [
      {
        severity,
        at: "issuer",
        message: `${who} trusts the shared ${shared.platform} issuer ${provider.issuer}, which signs tokens for every ${shared.tenant}, and has no authn condition, so every one of them logs in; add authn: {condition: '${shared.example}'}${optOut}`,
      },
    ];
  }
  return [
    {
      severity,
      at: "authn",
      message: `${who}: authn does not pin the ${shared.tenant}, and ${provider.issuer} signs tokens for every one of them; ${fix}${optOut}`,
    },
  ];
}
