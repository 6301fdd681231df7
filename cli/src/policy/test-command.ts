/**
 * `policy test`: what the token server would decide, through the same code.
 * For a token (--token) or a token's claims (--claims), in the server's order:
 *
 *   1. the identity checks of core/src/identity/workload-token.ts — size,
 *      duplicate keys, an audience for the service, the alg allowlist, the
 *      signature through the provider's keys (inline keys always, discovery
 *      with a short timeout; when they can't be had the output says
 *      "signature not verified" and the other checks still run), then iss,
 *      aud, exp, nbf, iat with the clock skew, lifetime and sub;
 *   2. authn; 3. authz per scope and action.
 *
 * Each line says which check decided; a refusal's "why" is the token server's
 * explanation (core/src/policy/explain.ts, via evaluate.ts). --expect and
 * --cases turn it into a CI check (exit codes in TEST_HELP). The token itself
 * is never printed, only its SHA-256.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { decodeJwt } from "jose";
import { parseScopes, ScopeError, formatScope, type ResourceScope } from "@jwt-registry-auth/protocol";
import { fetchJsonBounded, issuerKeySet, jwksFromPems, kidlessIssuerKeySet, MAX_ISSUER_RESPONSE_BYTES, parseJwks, type IssuerKeySet, type Parsed } from "@jwt-registry-auth/protocol/issuer-keys";
import type { ProviderConfig } from "@jwt-registry-auth/core/providers/model";
import { compileProvider, describeProviderIssue } from "@jwt-registry-auth/core/providers/compile-provider";
import { evaluateAuthn, evaluateAuthz } from "@jwt-registry-auth/core/policy/evaluate";
import { refusalReason } from "@jwt-registry-auth/core/policy/explain";
import { checkWorkloadClaims, verifyWorkloadJwt, WORKLOAD_CHECKS, workloadExpectations, type WorkloadRefusal } from "@jwt-registry-auth/core/identity/workload-token";
import { CasesFileError, parseCasesFile, type Expectation, type TestCase } from "./test-cases.ts";
import { EXIT_FAILED, EXIT_OK, parseCommandArgs, UsageError, type Io } from "../io.ts";
import { loadPolicyFile, printDiagnostics } from "./load.ts";

export const TEST_HELP = `Usage: jwt-registry-auth policy test FILE --service SERVICE (--claims JSON|@FILE | --token JWT) --scope SCOPE [--scope SCOPE …] [--provider NAME] [--expect allow|deny]
       jwt-registry-auth policy test FILE --cases CASES.yaml [--service SERVICE]

Runs the token server's checks, in its order and through its code, and prints
which one decided: the identity checks (alg, signature, iss, aud, exp, nbf,
iat with clock skew, lifetime, sub), then authn, then authz per scope and
action; for a refused condition, the term that was false or the claim that was
missing or of the wrong type, with its line:column (what the token server logs).

  --service S     the registry service (the token request's service=)
  --claims JSON   a workload token's claims as a JSON object, or @path to a JSON file; the identity
                  checks run on them when they carry iss, aud and exp (else the output says which are missing)
  --token JWT     a workload token: its signature is checked with the provider's keys (inline keys
                  always; discovery if it answers within --key-timeout), else the output says
                  "signature not verified"; a signature that fails against reachable keys refuses, as the server does
  --key-timeout MS  how long to wait for the issuer's discovery and JWKS (default 3000)
  --scope SCOPE   type[(class)]:name:actions, repeatable (e.g. repository:org/app:pull,push)
  --provider NAME the provider to use; default: the only one, or the one whose issuer is the claims' iss
  --expect allow|deny  every scope action must be allowed (allow) or refused (deny)
  --cases FILE    a YAML file of cases (claims or token, expected allow|deny per scope); every failing case is reported

Exit status: 0 decided as expected (or no expectation given), 1 the providers file has errors,
2 usage or a bad cases file (named with its line), 3 an outcome differs from --expect or a case failed.`;

/** An outcome that differs from --expect, or a failing case. */
export const EXIT_UNEXPECTED = 3;

interface Claims {
  readonly claims: Record<string, unknown>;
  readonly source: string;
  /** With --token: the token, for the signature check once the provider is known. */
  readonly token?: { readonly jwt: string; readonly sha256: string };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function readClaims(claims: string | undefined, token: string | undefined): Claims {
  if (token !== undefined && claims === undefined) return claimsFromToken(token);
  if (claims !== undefined && token === undefined) return claimsFromJson(claims.startsWith("@") ? readClaimsFile(claims.slice(1)) : claims);
  throw new UsageError("give exactly one of --claims and --token");
}

function claimsFromToken(token: string): Claims {
  const sha256 = createHash("sha256").update(token).digest("hex");
  let decoded: unknown;
  try {
    decoded = decodeJwt(token);
  } catch {
    throw new UsageError(`--token is not a JWT (sha256 ${sha256})`);
  }
  if (!isRecord(decoded)) throw new UsageError("--token has no claims object");
  return { claims: decoded, source: "decoded from --token", token: { jwt: token, sha256 } };
}

const DEFAULT_KEY_TIMEOUT_MS = 3000;

type KeysFor = Parsed<{ readonly keySet: IssuerKeySet; readonly via: string }>;

async function providerKeys(config: ProviderConfig, timeoutMs: number): Promise<KeysFor> {
  const keys = config.keys;
  if (keys.source === "static") {
    const pems = await jwksFromPems(keys.pems);
    return pems.ok ? { ok: true, value: { keySet: kidlessIssuerKeySet(pems.value), via: "the provider's staticKeys" } } : pems;
  }
  if (keys.source === "jwks") {
    const jwks = parseJwks(keys.jwks);
    return jwks.ok ? { ok: true, value: { keySet: issuerKeySet(jwks.value), via: "the provider's inline jwks" } } : jwks;
  }
  const limits = { timeoutMs, maxBytes: MAX_ISSUER_RESPONSE_BYTES };
  const discovery = await fetchJsonBounded(fetch, keys.discoveryUrl, limits);
  if (!discovery.ok) return { ok: false, detail: `discovery ${keys.discoveryUrl}: ${discovery.detail}` };
  const jwksUri = isRecord(discovery.value.body) ? discovery.value.body["jwks_uri"] : undefined;
  if (typeof jwksUri !== "string" || jwksUri === "") return { ok: false, detail: `discovery ${keys.discoveryUrl}: no jwks_uri` };
  const fetched = await fetchJsonBounded(fetch, jwksUri, limits);
  if (!fetched.ok) return { ok: false, detail: `jwks_uri ${jwksUri}: ${fetched.detail}` };
  const jwks = parseJwks(fetched.value.body);
  return jwks.ok ? { ok: true, value: { keySet: issuerKeySet(jwks.value), via: `the issuer's JWKS (${jwksUri})` } } : { ok: false, detail: `jwks_uri ${jwksUri}: ${jwks.detail}` };
}

function claimsFromJson(text: string): Claims {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--claims is not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!isRecord(parsed)) throw new UsageError("--claims must be a JSON object");
  return { claims: parsed, source: "from --claims" };
}

function readClaimsFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read --claims file ${path}: ${e instanceof Error && "code" in e ? String(e.code) : String(e)}`);
  }
}

function pickProvider(providers: readonly ProviderConfig[], name: string | undefined, claims: Record<string, unknown>): ProviderConfig {
  if (name !== undefined) {
    const found = providers.find((p) => p.name === name);
    if (found === undefined) throw new UsageError(`no provider named ${JSON.stringify(name)} (have: ${providers.map((p) => p.name).join(", ")})`);
    return found;
  }
  const [only] = providers;
  if (providers.length === 1 && only !== undefined) return only;
  const byIssuer = providers.filter((p) => p.issuer === claims.iss);
  if (byIssuer.length === 1 && byIssuer[0] !== undefined) return byIssuer[0];
  throw new UsageError(`the file has ${providers.length} providers; choose one with --provider NAME`);
}

function readScopes(values: readonly string[]): ResourceScope[] {
  if (values.length === 0) throw new UsageError("give at least one --scope");
  try {
    return parseScopes(values);
  } catch (e) {
    if (e instanceof ScopeError) throw new UsageError(`--scope: ${e.message}`);
    throw e;
  }
}

/** How the identity checks went: "accepted", "refused" with the check that decided, or "unchecked" and why. */
type IdentityOutcome =
  | { readonly status: "accepted" }
  | { readonly status: "refused"; readonly refusal: WorkloadRefusal }
  | { readonly status: "unchecked"; readonly why: string };

interface ScopeDecision {
  readonly label: string;
  readonly allowed: boolean;
  readonly reason: string;
}

interface Decision {
  readonly lines: readonly string[];
  readonly rows: readonly ScopeDecision[];
}

/** The claims the server requires before the claim checks can say anything (core/src/identity/workload-token.ts). */
const IDENTITY_CLAIMS = ["iss", "aud", "exp"] as const;

function refusalText(refusal: WorkloadRefusal): string {
  return `identity check ${refusal.check}: ${refusal.reason}: ${refusal.detail}`;
}

interface DecideInput {
  /** The providers file, named with each refused term's line in it. */
  readonly file: string;
  readonly config: ProviderConfig;
  readonly service: string;
  readonly claims: Claims;
  readonly scopes: readonly ResourceScope[];
  readonly keyTimeoutMs: number;
  /** Keys fetched once per provider for a run over many cases. */
  readonly keyCache: Map<ProviderConfig, Promise<KeysFor>>;
}

async function keysOnce(input: DecideInput): Promise<KeysFor> {
  let keys = input.keyCache.get(input.config);
  if (keys === undefined) {
    keys = providerKeys(input.config, input.keyTimeoutMs).catch((e: unknown) => ({ ok: false, detail: e instanceof Error ? e.message : String(e) }) as const);
    input.keyCache.set(input.config, keys);
  }
  return keys;
}

async function checkIdentity(input: DecideInput): Promise<{ outcome: IdentityOutcome; signature?: string }> {
  const { config, service, claims } = input;
  const expected = workloadExpectations(config, service, Date.now() / 1000);
  if (claims.token === undefined) {
    const lacking = IDENTITY_CLAIMS.filter((c) => !(c in claims.claims));
    if (lacking.length > 0) return { outcome: { status: "unchecked", why: `the claims lack ${lacking.join(", ")}; give them, or --token, to run the token server's identity checks` } };
    if (!expected.ok) return { outcome: { status: "refused", refusal: expected } };
    const result = checkWorkloadClaims(claims.claims, expected.value);
    return { outcome: result.ok ? { status: "accepted" } : { status: "refused", refusal: result } };
  }
  // What is refused before any key is needed (size, header, alg, the service's audience) is refused without fetching keys.
  const early = await verifyWorkloadJwt(claims.token.jwt, expected, "unverified");
  if (!early.ok && WORKLOAD_CHECKS.indexOf(early.check) < WORKLOAD_CHECKS.indexOf("signature")) return { outcome: { status: "refused", refusal: early } };
  const keys = await keysOnce(input);
  const result = await verifyWorkloadJwt(claims.token.jwt, expected, keys.ok ? keys.value.keySet.getKey : "unverified");
  const signature = keys.ok ? `checked with ${keys.value.via}` : `signature not verified: the provider's keys could not be had (${keys.detail})`;
  return { outcome: result.ok ? { status: "accepted" } : { status: "refused", refusal: result }, signature };
}

/** The whole decision, as lines to print and one row per scope action. */
async function decide(input: DecideInput): Promise<Decision> {
  const { config, service, claims } = input;
  const compiled = compileProvider(config);
  if (!compiled.ok) throw new UsageError(compiled.errors.map(describeProviderIssue).join("; "));
  const provider = compiled.value.provider;
  const lines = [`provider: ${config.name} (issuer ${config.issuer})`, `service:  ${service}`];
  const { outcome, signature } = await checkIdentity(input);
  lines.push(`claims:   ${claims.token === undefined ? claims.source : `${claims.source} (token sha256 ${claims.token.sha256})`}`);
  if (signature !== undefined) lines.push(`signature: ${signature}`);
  let refusedBy: string | undefined;
  if (outcome.status === "refused") {
    refusedBy = refusalText(outcome.refusal);
    // As worker/src/token/handler.ts answers: keys that can't be had are the issuer's fault (503), the rest the token's (401).
    const answer = outcome.refusal.reason === "issuer_unavailable" ? "503 UNAVAILABLE" : "401 UNAUTHORIZED";
    lines.push(`identity: refused (${refusedBy})`, `          the token server answers ${answer}, so every scope is refused`);
  } else {
    lines.push(outcome.status === "accepted" ? "identity: accepted (every check the token server runs before the policy passed)" : `identity: not checked (${outcome.why})`);
    const authn = evaluateAuthn(provider, { service, claims: claims.claims });
    lines.push(`authn:    ${authn.allowed ? "allowed" : "refused"} (${refusalReason(authn, config.sourceLines, input.file)})`);
    if (!authn.allowed) {
      refusedBy = "authn refused";
      lines.push('          authentication refused, so every scope is refused (the server answers 403 DENIED, detail.reason "authn_condition_false")');
    }
  }
  const rows: ScopeDecision[] = [];
  for (const scope of input.scopes) {
    for (const action of scope.actions) {
      const label = formatScope({ ...scope, actions: [action] });
      if (refusedBy !== undefined) {
        rows.push({ label, allowed: false, reason: refusedBy });
        continue;
      }
      const decision = evaluateAuthz(provider, { service, claims: claims.claims, scope: { type: scope.type, name: scope.name, action, ...(scope.class !== undefined && { class: scope.class }) } });
      rows.push({ label, allowed: decision.allowed, reason: refusalReason(decision, config.sourceLines, input.file) });
    }
  }
  return { lines, rows };
}

function printDecision(io: Io, decision: Decision): void {
  for (const line of decision.lines) io.out(line);
  const width = Math.max(...decision.rows.map((r) => r.label.length));
  for (const row of decision.rows) io.out(`${row.label.padEnd(width)}  ${row.allowed ? "allowed" : "refused"}  (${row.reason})`);
}

function readExpectation(value: string | undefined): Expectation | undefined {
  if (value === undefined || value === "allow" || value === "deny") return value;
  throw new UsageError("--expect must be allow or deny");
}

function readCases(path: string): TestCase[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read --cases file ${path}: ${e instanceof Error && "code" in e ? String(e.code) : String(e)}`);
  }
  try {
    return parseCasesFile(text, path);
  } catch (e) {
    if (e instanceof CasesFileError) throw new UsageError(e.message);
    throw e;
  }
}

async function runCases(io: Io, file: string, providers: readonly ProviderConfig[], values: { service?: string; provider?: string; cases: string }, keyTimeoutMs: number): Promise<number> {
  const cases = readCases(values.cases);
  const keyCache = new Map<ProviderConfig, Promise<KeysFor>>();
  let failed = 0;
  for (const testCase of cases) {
    const where = `${values.cases}:${testCase.line}`;
    const service = testCase.service ?? values.service;
    if (service === undefined || service === "") throw new UsageError(`${where}: ${testCase.name}: no service (give service: in the case or --service)`);
    const claims = testCase.token !== undefined ? claimsFromToken(testCase.token) : { claims: testCase.claims ?? {}, source: "from the case" };
    let config: ProviderConfig;
    try {
      config = pickProvider(providers, testCase.provider ?? values.provider, claims.claims);
    } catch (e) {
      throw new UsageError(`${where}: ${testCase.name}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const scopes = testCase.expect.flatMap((e) => e.scopes);
    const decision = await decide({ file, config, service, claims, scopes, keyTimeoutMs, keyCache });
    const failures: string[] = [];
    let row = 0;
    for (const expectation of testCase.expect) {
      for (const scope of expectation.scopes) {
        for (const _action of scope.actions) {
          const got = decision.rows[row++];
          if (got !== undefined && got.allowed !== (expectation.outcome === "allow")) {
            failures.push(`  ${values.cases}:${expectation.line}: ${got.label}: expected ${expectation.outcome}, got ${got.allowed ? "allow" : "deny"} (${got.reason})`);
          }
        }
      }
    }
    if (failures.length === 0) {
      io.out(`ok    ${testCase.name}`);
    } else {
      failed++;
      io.out(`FAIL  ${testCase.name} (${where}, provider ${config.name})`);
      for (const f of failures) io.out(f);
    }
  }
  io.out(`${file}: ${cases.length - failed} of ${cases.length} case(s) passed`);
  return failed === 0 ? EXIT_OK : EXIT_UNEXPECTED;
}

export async function policyTestCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      service: { type: "string" },
      claims: { type: "string" },
      token: { type: "string" },
      scope: { type: "string", multiple: true },
      provider: { type: "string" },
      "key-timeout": { type: "string" },
      expect: { type: "string" },
      cases: { type: "string" },
    },
    { min: 1, max: 1, names: "FILE" },
  );
  const keyTimeoutMs = values["key-timeout"] === undefined ? DEFAULT_KEY_TIMEOUT_MS : Number(values["key-timeout"]);
  if (!Number.isInteger(keyTimeoutMs) || keyTimeoutMs < 1 || keyTimeoutMs > 60_000) throw new UsageError("--key-timeout must be a whole number of milliseconds, 1 to 60000");
  const expectation = readExpectation(values.expect);
  const file = positionals[0] as string;
  if (values.cases !== undefined) {
    if (values.claims !== undefined || values.token !== undefined || values.scope !== undefined || expectation !== undefined) {
      throw new UsageError("--cases takes the claims, scopes and expectations from the file: drop --claims, --token, --scope and --expect");
    }
    const loaded = loadPolicyFile(file);
    if (loaded.result.errors.length > 0) {
      printDiagnostics(io, loaded.result);
      return EXIT_FAILED;
    }
    return runCases(io, file, loaded.result.providers, { cases: values.cases, ...(values.service !== undefined && { service: values.service }), ...(values.provider !== undefined && { provider: values.provider }) }, keyTimeoutMs);
  }
  if (values.service === undefined || values.service === "") throw new UsageError("--service is required");
  const service = values.service;
  const claims = readClaims(values.claims, values.token);
  const scopes = readScopes(values.scope ?? []);

  const loaded = loadPolicyFile(file);
  if (loaded.result.errors.length > 0) {
    printDiagnostics(io, loaded.result);
    return EXIT_FAILED;
  }
  const config = pickProvider(loaded.result.providers, values.provider, claims.claims);
  const decision = await decide({ file, config, service, claims, scopes, keyTimeoutMs, keyCache: new Map() });
  printDecision(io, decision);
  if (expectation === undefined) return EXIT_OK;
  const unexpected = decision.rows.filter((r) => r.allowed !== (expectation === "allow"));
  if (unexpected.length === 0) return EXIT_OK;
  io.err(`expected ${expectation} for every scope action; ${unexpected.map((r) => r.label).join(", ")} ${unexpected.length === 1 ? "was" : "were"} not`);
  return EXIT_UNEXPECTED;
}
