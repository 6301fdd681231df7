/**
 * The providers config file (YAML) → normalized ProviderConfig[].
 *
 * The jetstack PoC's format loads unchanged (its `server`/`token` blocks are
 * reported as ignored), plus `issuer`, `audiences`, `jwks`, `refresh` and
 * `description`. Every value is type-checked where it is read, with yaml's
 * node guards (`isScalar`, `isMap`, …) or our own checks, and nothing is cast;
 * every error and warning names `file:line:column`. Conditions are
 * compiled here too, so a file that validates is a file the server can load.
 */
import type { JWK } from "jose";
import { isAlias, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type Scalar, type YAMLMap } from "yaml";
import { RATE_LIMIT_TIERS, type ProviderConfig, type RateLimitTier } from "./model.ts";
import {
  DEFAULT_REFRESH_SECONDS,
  discoveryUrlFor,
  issuerProblem,
  jwkProblem,
  MAX_AUDIENCES,
  MAX_REFRESH_SECONDS,
  MIN_REFRESH_SECONDS,
  pemProblem,
  PROVIDER_NAME_PATTERN,
  validateProviderConfig,
} from "./validate.ts";
import { compileCondition, type ConditionIssue, type ConditionKind } from "../policy/condition.ts";
import { parseGoDuration } from "./duration.ts";
import { maxTokenLifetimeProblem } from "./token-lifetime.ts";
import { oversizedValues, textSizeProblem } from "./size-limits.ts";
import { checkSharedIssuer, UNPINNED_ACKNOWLEDGED } from "../policy/shared-issuer.ts";

export interface Diagnostic {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
  readonly message: string;
}

export interface ConfigResult {
  /** Empty whenever `errors` is not: a file with errors yields nothing usable. */
  readonly providers: readonly ProviderConfig[];
  readonly warnings: readonly Diagnostic[];
  readonly errors: readonly Diagnostic[];
}

export const TOP_LEVEL_KEYS = ["providers", "server", "token"] as const;
export const PROVIDER_KEYS = ["name", "description", "issuer", "oidcDiscoveryURL", "staticKeys", "jwks", "audiences", "authn", "authz", "refresh", "maxTokenLifetime", "sharedIssuer", "rateLimit"] as const;

export function formatDiagnostic(d: Diagnostic, severity: "error" | "warning"): string {
  return `${d.file}:${d.line}:${d.column}: ${severity}: ${d.message}`;
}

class Reporter {
  readonly errors: Diagnostic[] = [];
  readonly warnings: Diagnostic[] = [];
  constructor(
    readonly file: string,
    readonly text: string,
    private readonly lines: LineCounter,
  ) {}

  position(offset: number): { line: number; column: number } {
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }

  private diagnostic(node: Node | undefined | null, message: string, offset?: number): Diagnostic {
    return { file: this.file, ...this.position(offset ?? node?.range?.[0] ?? 0), message };
  }
  error(node: Node | undefined | null, message: string, offset?: number): void {
    this.errors.push(this.diagnostic(node, message, offset));
  }
  warn(node: Node | undefined | null, message: string): void {
    this.warnings.push(this.diagnostic(node, message));
  }
  at(position: { line: number; column: number }, message: string, severity: "error" | "warning"): void {
    (severity === "error" ? this.errors : this.warnings).push({ file: this.file, ...position, message });
  }
}

/** One pair of a mapping whose key is a plain string: the key's node, for positions, and the value as yaml holds it. */
interface Field {
  readonly key: Scalar;
  readonly value: unknown;
}

/** The pairs of a mapping whose keys are plain strings; anything else is reported. */
function entries(r: Reporter, node: YAMLMap): [string, Field][] {
  const out: [string, Field][] = [];
  for (const { key, value } of node.items) {
    if (!isScalar(key) || typeof key.value !== "string") {
      r.error(isScalar(key) ? key : node, "mapping keys must be strings");
      continue;
    }
    out.push([key.value, { key, value }]);
  }
  return out;
}

/** The known keys of a mapping, typed as the list of them; unknown keys are reported as errors with their line. */
function fields<K extends string>(r: Reporter, node: YAMLMap, allowed: readonly K[], where: string): Map<K, Field> {
  const known = new Map<K, Field>();
  for (const [key, field] of entries(r, node)) {
    const match = allowed.find((k) => k === key);
    if (match !== undefined) known.set(match, field);
    else r.error(field.key, `unknown key '${key}' in ${where} (expected: ${allowed.join(", ")})`);
  }
  return known;
}

function valueNode(field: Field): Node | null {
  return isNode(field.value) ? field.value : null;
}

function readString(r: Reporter, pair: Field, what: string): string | undefined {
  const node = valueNode(pair);
  if (isScalar(node) && typeof node.value === "string") return node.value;
  r.error(node ?? pair.key, `${what} must be a string`);
  return undefined;
}

/**
 * Where a position inside a condition string is in the YAML file. Exact for
 * block literals (`|`, the PoC's style) and single-line scalars; for folded
 * and multi-line flow scalars the line of the string's first line.
 */
function conditionPosition(r: Reporter, node: Scalar, issue: ConditionIssue): { line: number; column: number } {
  const start = node.range?.[0] ?? 0;
  const head = r.position(start);
  if (issue.line === undefined) return head;
  const column = issue.column ?? 1;
  if (node.type === "BLOCK_LITERAL") {
    const afterHeader = r.text.indexOf("\n", start) + 1;
    const indent = /^ */.exec(r.text.slice(afterHeader))?.[0].length ?? 0;
    return { line: head.line + issue.line, column: indent + column };
  }
  if (node.type === "BLOCK_FOLDED") return { line: head.line + 1, column: 1 };
  if (issue.line === 1) return { line: head.line, column: head.column + column - (node.type === "PLAIN" ? 1 : 0) };
  return head;
}

/** The file line of a condition's first row: the line after the header of a block scalar, else the scalar's own line. */
function conditionFirstLine(r: Reporter, node: Scalar): number {
  const line = r.position(node.range?.[0] ?? 0).line;
  return node.type === "BLOCK_LITERAL" || node.type === "BLOCK_FOLDED" ? line + 1 : line;
}

function readCondition(r: Reporter, pair: Field, kind: ConditionKind, lines: { authn?: number; authz?: number }): string | undefined {
  const node = valueNode(pair);
  if (!isMap(node)) {
    r.error(node ?? pair.key, `${kind} must be a mapping with a condition (CEL string)`);
    return undefined;
  }
  const conditionPair = fields(r, node, ["condition"], kind).get("condition");
  if (conditionPair === undefined) return undefined;
  const source = readString(r, conditionPair, `${kind}.condition`);
  const conditionNode = valueNode(conditionPair);
  if (source === undefined || !isScalar(conditionNode)) return undefined;
  if (source.trim() === "") {
    r.warn(conditionNode, `${kind}.condition is empty, so it is not applied (as in the PoC)`);
    return undefined;
  }
  const result = compileCondition(kind, source);
  if (!result.ok) {
    r.at(conditionPosition(r, conditionNode, result.error), `${kind}.condition: ${result.error.message}`, "error");
    return undefined;
  }
  for (const w of result.value.warnings) r.at(conditionPosition(r, conditionNode, w), `${kind}.condition: ${w.message}`, "warning");
  lines[kind] = conditionFirstLine(r, conditionNode);
  return source;
}

function readAudiences(r: Reporter, pair: Field): string[] | undefined {
  const node = valueNode(pair);
  if (!isSeq(node) || node.items.length === 0 || node.items.length > MAX_AUDIENCES) {
    r.error(node ?? pair.key, `audiences must be a list of 1 to ${MAX_AUDIENCES} strings (omit it for the default: the requested service)`);
    return undefined;
  }
  const out: string[] = [];
  for (const item of node.items) {
    if (isScalar(item) && typeof item.value === "string" && item.value !== "") out.push(item.value);
    else r.error(isScalar(item) || isMap(item) || isSeq(item) ? item : node, "each audience must be a non-empty string");
  }
  return out.length === node.items.length ? out : undefined;
}

function readStaticKeys(r: Reporter, pair: Field): string[] | undefined {
  const node = valueNode(pair);
  if (!isSeq(node) || node.items.length === 0) {
    r.error(node ?? pair.key, "staticKeys must be a list of {key: <PEM>} entries");
    return undefined;
  }
  const errorsBefore = r.errors.length;
  const pems: string[] = [];
  for (const item of node.items) {
    if (!isMap(item)) {
      r.error(isScalar(item) || isSeq(item) ? item : node, "each staticKeys entry must be a mapping with key: <PEM public key or certificate>");
      continue;
    }
    const keyPair = fields(r, item, ["key"], "staticKeys entry").get("key");
    if (keyPair === undefined) {
      r.error(item, "staticKeys entry needs key: <PEM public key or certificate>");
      continue;
    }
    const pem = readString(r, keyPair, "staticKeys[].key");
    const problem = pem === undefined ? undefined : pemProblem(pem);
    if (problem) r.error(valueNode(keyPair), `staticKeys[].key ${problem}`);
    else if (pem !== undefined) pems.push(pem);
  }
  return r.errors.length === errorsBefore ? pems : undefined;
}

type ProviderConfigKeys = ProviderConfig["keys"];

/** A key that passes jwkProblem: an object of a key type and curve we verify with, its public members only, for signatures. */
function isCheckedJwk(value: unknown): value is JWK {
  return jwkProblem(value) === undefined;
}

function readJwks(r: Reporter, doc: Document, pair: Field): ProviderConfigKeys | undefined {
  const node = valueNode(pair);
  if (!isMap(node)) {
    r.error(node ?? pair.key, "jwks must be a JWKS object: {keys: [...]}");
    return undefined;
  }
  const errorsBefore = r.errors.length;
  const keysPair = fields(r, node, ["keys"], "jwks").get("keys");
  const keysNode = keysPair === undefined ? null : valueNode(keysPair);
  if (!isSeq(keysNode) || keysNode.items.length === 0) {
    r.error(keysNode ?? node, "jwks.keys must be a non-empty list of JWKs");
    return undefined;
  }
  const keys: JWK[] = [];
  for (const item of keysNode.items) {
    const jwk: unknown = isMap(item) ? item.toJS(doc) : undefined;
    if (isCheckedJwk(jwk)) keys.push(jwk);
    else r.error(isMap(item) || isScalar(item) || isSeq(item) ? item : keysNode, `jwks key ${jwkProblem(jwk)}`);
  }
  if (r.errors.length > errorsBefore) return undefined;
  return { source: "jwks", jwks: { keys } };
}

function readRefresh(r: Reporter, pair: Field): number | undefined {
  const node = valueNode(pair);
  if (isScalar(node) && typeof node.value === "boolean") return node.value ? DEFAULT_REFRESH_SECONDS : 0;
  if (!isMap(node)) {
    r.error(node ?? pair.key, 'refresh must be false, true, or {lifetime: "1h"}');
    return undefined;
  }
  const lifetimePair = fields(r, node, ["lifetime"], "refresh").get("lifetime");
  if (lifetimePair === undefined) return DEFAULT_REFRESH_SECONDS;
  const text = readString(r, lifetimePair, 'refresh.lifetime (a duration like "1h" or "90m")');
  if (text === undefined) return undefined;
  const seconds = parseGoDuration(text);
  if (seconds === undefined || !Number.isInteger(seconds)) {
    r.error(valueNode(lifetimePair), `refresh.lifetime ${JSON.stringify(text)} is not a duration in whole seconds like "1h", "90m" or "3600s"`);
    return undefined;
  }
  if (seconds < MIN_REFRESH_SECONDS || seconds > MAX_REFRESH_SECONDS) {
    r.error(valueNode(lifetimePair), `refresh.lifetime must be from ${MIN_REFRESH_SECONDS}s to ${MAX_REFRESH_SECONDS / 3600}h (use refresh: false for none)`);
    return undefined;
  }
  return seconds;
}

function readMaxTokenLifetime(r: Reporter, pair: Field): number | undefined {
  const text = readString(r, pair, 'maxTokenLifetime (a duration like "24h" or "90m")');
  if (text === undefined) return undefined;
  const seconds = parseGoDuration(text);
  const problem = seconds === undefined ? "must be a duration like \"24h\", \"90m\" or \"3600s\"" : maxTokenLifetimeProblem(seconds);
  if (problem !== undefined) {
    r.error(valueNode(pair), `maxTokenLifetime ${JSON.stringify(text)} ${problem}`);
    return undefined;
  }
  return seconds;
}

interface Fields {
  name?: string;
  description?: string;
  issuer?: string;
  oidcDiscoveryURL?: string;
  keys?: ProviderConfigKeys;
  audiences?: string[];
  authn?: string;
  authz?: string;
  refreshSeconds?: number;
  maxTokenLifetimeSeconds?: number;
  sharedIssuer?: typeof UNPINNED_ACKNOWLEDGED;
  rateLimit?: RateLimitTier;
  sourceLines?: { authn?: number; authz?: number };
}

/**
 * The shared-issuer guard (policy/shared-issuer.ts): a provider on GitHub
 * Actions, GitLab.com, Buildkite, … must pin an owner id in authn. Each
 * finding is placed where it is about: the pin or the authn condition, the
 * issuer field (no authn), or the sharedIssuer key.
 */
function checkOwnerPin(r: Reporter, seen: ReadonlyMap<string, Field>, provider: { name: string; issuer: string; authn: string | undefined; sharedIssuer: string | undefined }, node: YAMLMap): void {
  const authnNode = ((): Scalar | undefined => {
    const authn = seen.get("authn");
    const map = authn === undefined ? null : valueNode(authn);
    const condition = isMap(map) ? map.get("condition", true) : undefined;
    return isScalar(condition) ? condition : undefined;
  })();
  const issuerField = seen.get("issuer") ?? seen.get("oidcDiscoveryURL");
  const findings = checkSharedIssuer({ name: provider.name, issuer: provider.issuer, ...(provider.authn !== undefined && { authn: provider.authn }), ...(provider.sharedIssuer !== undefined && { sharedIssuer: provider.sharedIssuer }) });
  for (const finding of findings) {
    let position: { line: number; column: number };
    if (finding.at === "authn" && authnNode !== undefined && provider.authn !== undefined) {
      const before = provider.authn.slice(0, finding.offset ?? 0).split("\n");
      position = conditionPosition(r, authnNode, { message: finding.message, line: before.length, column: (before.at(-1)?.length ?? 0) + 1 });
    } else {
      const field = finding.at === "sharedIssuer" ? seen.get("sharedIssuer") : issuerField;
      position = r.position((field === undefined ? undefined : valueNode(field))?.range?.[0] ?? field?.key.range?.[0] ?? node.range?.[0] ?? 0);
    }
    r.at(position, finding.message, finding.severity);
  }
}

/** Reads one `providers[]` entry; returns undefined if it has errors (already reported). */
function readProvider(r: Reporter, doc: Document, node: YAMLMap): ProviderConfig | undefined {
  const errorsBefore = r.errors.length;
  const f: Fields = {};
  // An authn with errors is reported as such; the owner-pin guard needs one that compiles (or none, or an empty one).
  let authnFailed = false;
  const seen = fields(r, node, PROVIDER_KEYS, "provider");
  for (const [k, pair] of seen) {
    switch (k) {
      case "name":
      case "description":
      case "issuer":
      case "oidcDiscoveryURL":
        f[k] = readString(r, pair, k);
        break;
      case "staticKeys": {
        const pems = readStaticKeys(r, pair);
        if (pems) f.keys = { source: "static", pems };
        break;
      }
      case "jwks":
        f.keys = readJwks(r, doc, pair);
        break;
      case "audiences":
        f.audiences = readAudiences(r, pair);
        break;
      case "authn":
      case "authz": {
        const before = r.errors.length;
        f[k] = readCondition(r, pair, k, (f.sourceLines ??= {}));
        if (k === "authn") authnFailed = r.errors.length > before;
        break;
      }
      case "refresh":
        f.refreshSeconds = readRefresh(r, pair);
        break;
      case "maxTokenLifetime":
        f.maxTokenLifetimeSeconds = readMaxTokenLifetime(r, pair);
        break;
      case "sharedIssuer": {
        const value = readString(r, pair, "sharedIssuer");
        if (value === UNPINNED_ACKNOWLEDGED) f.sharedIssuer = value;
        else if (value !== undefined) r.error(valueNode(pair), `sharedIssuer must be ${UNPINNED_ACKNOWLEDGED} (the only value: the provider's authn pins no owner of a shared issuer, on purpose)`);
        break;
      }
      case "rateLimit": {
        const value = readString(r, pair, "rateLimit");
        if (value !== undefined && (RATE_LIMIT_TIERS as readonly string[]).includes(value)) f.rateLimit = value as RateLimitTier;
        else if (value !== undefined) r.error(valueNode(pair), `rateLimit must be one of ${RATE_LIMIT_TIERS.join(", ")} (default: default; docs/policy.md, Abuse limits)`);
        break;
      }
    }
  }

  const nameNode = seen.get("name");
  if (nameNode === undefined) r.error(node, "provider needs a name (the username clients log in with)");
  else if (f.name !== undefined && !PROVIDER_NAME_PATTERN.test(f.name)) {
    r.error(valueNode(nameNode), `name ${JSON.stringify(f.name)} must match ${PROVIDER_NAME_PATTERN.source} (lowercase; it is the Basic-auth username)`);
  }
  for (const key of ["issuer", "oidcDiscoveryURL"] as const) {
    // f[key] is set only from a field seen.
    const field = seen.get(key);
    const value = f[key];
    const problem = value === undefined ? undefined : issuerProblem(value);
    if (problem && field !== undefined) r.error(valueNode(field), `${key} ${problem}`);
  }

  const sources = (["oidcDiscoveryURL", "staticKeys", "jwks"] as const).filter((k) => seen.has(k));
  const [source] = sources;
  const issuerField = seen.get("issuer");
  let issuer = f.issuer;
  if (sources.length > 1) {
    r.error(node, `give only one of oidcDiscoveryURL, staticKeys, jwks (this provider has ${sources.join(" and ")})`);
  } else if (source === "oidcDiscoveryURL") {
    // f.issuer is set only from the issuer field.
    if (issuerField !== undefined && f.issuer !== undefined && f.oidcDiscoveryURL !== undefined && f.issuer !== f.oidcDiscoveryURL) {
      r.error(valueNode(issuerField), `issuer ${JSON.stringify(f.issuer)} differs from oidcDiscoveryURL ${JSON.stringify(f.oidcDiscoveryURL)}; oidcDiscoveryURL is the issuer URL, so they must be equal`);
    }
    issuer = f.oidcDiscoveryURL;
    if (issuer !== undefined) f.keys = { source: "discovery", discoveryUrl: discoveryUrlFor(issuer) };
  } else if (source !== undefined) {
    if (issuerField === undefined) {
      r.error(seen.get(source)?.key, `a ${source} provider needs issuer: (the expected iss of its tokens); the PoC checked no issuer, so any token these keys signed passed — add issuer: <the iss your tokens carry>`);
    }
  } else if (issuer !== undefined) {
    f.keys = { source: "discovery", discoveryUrl: discoveryUrlFor(issuer) };
  } else {
    r.error(node, "provider needs its keys: oidcDiscoveryURL (or issuer alone, for discovery at the issuer), staticKeys (with issuer) or jwks (with issuer)");
  }

  if (!seen.has("audiences")) {
    r.warn(nameNode?.key ?? node, `provider ${JSON.stringify(f.name ?? "")} has no audiences: the PoC checked no audience; tokens must now carry aud equal to the requested service or https://+service — set audiences: to accept others (e.g. GitHub Actions: the registry host the action requests)`);
  }
  if (!seen.has("authz")) {
    r.warn(nameNode?.key ?? node, `provider ${JSON.stringify(f.name ?? "")} has no authz condition: every requested scope (push and delete included) is granted to any token it authenticates`);
  }

  if (issuer !== undefined && !authnFailed) checkOwnerPin(r, seen, { name: f.name ?? "", issuer, authn: f.authn, sharedIssuer: f.sharedIssuer }, node);

  if (r.errors.length > errorsBefore || f.name === undefined || issuer === undefined || f.keys === undefined) return undefined;
  const config: ProviderConfig = {
    name: f.name,
    ...(f.description !== undefined && { description: f.description }),
    issuer,
    keys: f.keys,
    audiences: f.audiences ?? [],
    ...(f.authn !== undefined && { authn: f.authn }),
    ...(f.authz !== undefined && { authz: f.authz }),
    refreshSeconds: seen.has("refresh") ? (f.refreshSeconds ?? 0) : DEFAULT_REFRESH_SECONDS,
    ...(f.maxTokenLifetimeSeconds !== undefined && { maxTokenLifetimeSeconds: f.maxTokenLifetimeSeconds }),
    ...(f.sharedIssuer !== undefined && { sharedIssuer: f.sharedIssuer }),
    ...(f.rateLimit !== undefined && f.rateLimit !== "default" && { rateLimit: f.rateLimit }),
    ...(f.sourceLines !== undefined && Object.keys(f.sourceLines).length > 0 && { sourceLines: f.sourceLines }),
  };
  // The same gate the D1 store applies to what it reads back.
  const checked = validateProviderConfig(config);
  if (!checked.ok) {
    r.error(node, `provider ${JSON.stringify(config.name)}: ${checked.error}`);
    return undefined;
  }
  return checked.value;
}

/** Rejects anchors/aliases: not needed for this file, and alias expansion is how small YAML becomes huge. */
function rejectAliases(r: Reporter, node: unknown): void {
  if (isAlias(node)) r.error(node, "YAML aliases (*name) are not supported in this file");
  else if (isMap(node)) {
    for (const pair of node.items) {
      rejectAliases(r, pair.key);
      rejectAliases(r, pair.value);
    }
  }
  else if (isSeq(node)) for (const item of node.items) rejectAliases(r, item);
}

function sorted(list: readonly Diagnostic[]): Diagnostic[] {
  return [...list].sort((a, b) => a.line - b.line || a.column - b.column);
}

export function parseProvidersConfig(text: string, file = "<config>"): ConfigResult {
  // Sizes first (size-limits.ts): nothing is parsed, checked or compiled past them.
  const tooLarge = textSizeProblem(text);
  if (tooLarge !== undefined) return { providers: [], warnings: [], errors: [{ file, line: 1, column: 1, message: tooLarge }] };
  const lines = new LineCounter();
  const r = new Reporter(file, text, lines);
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  for (const e of doc.errors) r.error(undefined, e.message, e.pos[0]);
  for (const w of doc.warnings) r.warnings.push({ file, ...r.position(w.pos[0]), message: w.message });
  for (const oversized of oversizedValues(doc.contents)) r.error(oversized.node, oversized.message);
  if (r.errors.length > 0) return { providers: [], warnings: sorted(r.warnings), errors: sorted(r.errors) };
  rejectAliases(r, doc.contents);

  const root = doc.contents;
  if (!isMap(root)) {
    r.error(isScalar(root) || isSeq(root) ? root : undefined, "the file must be a mapping with a providers: list");
    return { providers: [], warnings: sorted(r.warnings), errors: sorted(r.errors) };
  }
  const providers: ProviderConfig[] = [];
  const names = new Map<string, number>();
  let sawProviders = false;
  for (const [key, pair] of fields(r, root, TOP_LEVEL_KEYS, "the top level")) {
    if (key === "server" || key === "token") {
      r.warn(pair.key, `'${key}' is ignored: the token server's settings live in wrangler.toml (vars and secrets), not in this file`);
      continue;
    }
    sawProviders = true;
    const list = valueNode(pair);
    if (!isSeq(list)) {
      r.error(list ?? pair.key, "providers must be a list");
      continue;
    }
    if (list.items.length === 0) r.warn(pair.key, "providers is empty: every login will be refused");
    for (const item of list.items) {
      if (!isMap(item)) {
        r.error(isScalar(item) || isSeq(item) ? item : list, "each provider must be a mapping");
        continue;
      }
      const nameNode = item.get("name", true);
      if (isScalar(nameNode) && typeof nameNode.value === "string") {
        const first = names.get(nameNode.value);
        if (first !== undefined) r.error(nameNode, `duplicate provider name ${JSON.stringify(nameNode.value)} (first defined at line ${first})`);
        else names.set(nameNode.value, r.position(nameNode.range?.[0] ?? 0).line);
      }
      const provider = readProvider(r, doc, item);
      if (provider !== undefined) providers.push(provider);
    }
  }
  if (!sawProviders) r.error(root, "the file has no providers: list");
  return { providers: r.errors.length > 0 ? [] : providers, warnings: sorted(r.warnings), errors: sorted(r.errors) };
}
