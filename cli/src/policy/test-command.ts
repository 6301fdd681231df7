/**
 * `policy test`: what a provider's policy decides for given claims, per
 * requested scope and action, and — for a refusal — why, exactly as the token
 * server logs it (core/src/policy/explain.ts): which term of the condition was
 * false, or which claim was missing or of the wrong type, at which line:column
 * of the condition. No token server involved.
 *
 * With --token the claims are the token's payload, and its signature is
 * checked against the chosen provider's keys when they can be had: inline keys
 * (staticKeys, jwks) always, discovery with a short timeout. When it can't be
 * checked, or fails, the output says UNVERIFIED and why; the decision is still
 * printed. The token itself is never printed, only its SHA-256.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { compactVerify, decodeJwt, decodeProtectedHeader, errors as joseErrors, type JWTVerifyGetKey } from "jose";
import { parseScopes, ScopeError, formatScope, type ResourceScope } from "@jwt-registry-auth/protocol";
import { fetchJsonBounded, issuerKeySet, jwksFromPems, kidlessIssuerKeySet, MAX_ISSUER_RESPONSE_BYTES, parseJwks, type IssuerKeySet, type Parsed } from "@jwt-registry-auth/protocol/issuer-keys";
import type { ProviderConfig } from "@jwt-registry-auth/core/providers/model";
import { compileProvider, describeProviderIssue } from "@jwt-registry-auth/core/providers/compile-provider";
import { evaluateAuthn, evaluateAuthz } from "@jwt-registry-auth/core/policy/evaluate";
import { EXIT_FAILED, EXIT_OK, parseCommandArgs, UsageError, type Io } from "../io.ts";
import { loadPolicyFile, printDiagnostics } from "./load.ts";

export const TEST_HELP = `Usage: jwt-registry-auth policy test FILE --service SERVICE (--claims JSON|@FILE | --token JWT) --scope SCOPE [--scope SCOPE …] [--provider NAME]

Evaluates FILE's policy for the given claims, printing per scope and action
whether it is allowed or refused and, for a refusal, why: the term of the
condition that was false, or the claim that was missing or of the wrong type,
with its line:column in the condition (what the token server logs).

  --service S     the registry service (the token request's service=)
  --claims JSON   the workload token's claims as a JSON object, or @path to a JSON file
  --token JWT     a workload token: its claims are decoded, and its signature checked with
                  the provider's keys (inline keys always; discovery if it answers within
                  --key-timeout), else the output says UNVERIFIED
  --key-timeout MS  how long to wait for the issuer's discovery and JWKS (default 3000)
  --scope SCOPE   type[(class)]:name:actions, repeatable (e.g. repository:org/app:pull,push)
  --provider NAME the provider to use; default: the only one, or the one whose issuer is the claims' iss`;

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

/** What the token server accepts (worker/src/identity/verify-workload-token.ts): asymmetric algorithms only. */
const TOKEN_ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];
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

/** Verifies the signature only (expiry and audience are the token server's business, not the policy's); tries each of several kid-less keys. */
async function verifySignature(jwt: string, getKey: JWTVerifyGetKey): Promise<void> {
  try {
    await compactVerify(jwt, getKey, { algorithms: TOKEN_ALGS });
  } catch (error) {
    if (!(error instanceof joseErrors.JWKSMultipleMatchingKeys)) throw error;
    let lastError: unknown = new joseErrors.JWKSNoMatchingKey();
    for await (const key of error) {
      try {
        await compactVerify(jwt, key, { algorithms: TOKEN_ALGS });
        return;
      } catch (keyError) {
        lastError = keyError;
      }
    }
    throw lastError;
  }
}

/** "signature VERIFIED with …" or "signature UNVERIFIED: why". Never throws. */
async function checkSignature(jwt: string, config: ProviderConfig, timeoutMs: number): Promise<string> {
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(jwt).alg;
  } catch {
    return "signature UNVERIFIED: the header does not decode";
  }
  if (typeof alg !== "string" || !TOKEN_ALGS.includes(alg)) return `signature UNVERIFIED: alg ${JSON.stringify(alg)} is not one the token server accepts`;
  let keys: KeysFor;
  try {
    keys = await providerKeys(config, timeoutMs);
  } catch (e) {
    keys = { ok: false, detail: e instanceof Error ? e.message : String(e) };
  }
  if (!keys.ok) return `signature UNVERIFIED: the provider's keys could not be had (${keys.detail})`;
  try {
    await verifySignature(jwt, keys.value.keySet.getKey);
  } catch (e) {
    return `signature UNVERIFIED: it does not verify with ${keys.value.via} (${e instanceof Error ? e.message : String(e)})`;
  }
  return `signature VERIFIED with ${keys.value.via}`;
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
    },
    { min: 1, max: 1, names: "FILE" },
  );
  const keyTimeout = values["key-timeout"] === undefined ? DEFAULT_KEY_TIMEOUT_MS : Number(values["key-timeout"]);
  if (!Number.isInteger(keyTimeout) || keyTimeout < 1 || keyTimeout > 60_000) throw new UsageError("--key-timeout must be a whole number of milliseconds, 1 to 60000");
  if (values.service === undefined || values.service === "") throw new UsageError("--service is required");
  const service = values.service;
  const { claims, source, token } = readClaims(values.claims, values.token);
  const scopes = readScopes(values.scope ?? []);

  const loaded = loadPolicyFile(positionals[0] as string);
  if (loaded.result.errors.length > 0) {
    printDiagnostics(io, loaded.result);
    return EXIT_FAILED;
  }
  const config = pickProvider(loaded.result.providers, values.provider, claims);
  const compiled = compileProvider(config);
  if (!compiled.ok) {
    for (const issue of compiled.errors) io.err(`error: ${describeProviderIssue(issue)}`);
    return EXIT_FAILED;
  }
  const provider = compiled.value.provider;

  io.out(`provider: ${config.name} (issuer ${config.issuer})`);
  io.out(`service:  ${service}`);
  io.out(`claims:   ${token === undefined ? source : `${source}, ${await checkSignature(token.jwt, config, keyTimeout)} (token sha256 ${token.sha256})`}`);
  const authn = evaluateAuthn(provider, { service, claims });
  io.out(`authn:    ${authn.allowed ? "allowed" : "refused"} (${authn.reason})`);
  if (!authn.allowed) io.out('          authentication refused, so every scope is refused (the server answers 403 DENIED, detail.reason "authn_condition_false")');

  const rows: [string, string, string][] = [];
  for (const scope of scopes) {
    for (const action of scope.actions) {
      const label = formatScope({ ...scope, actions: [action] });
      if (!authn.allowed) {
        rows.push([label, "refused", "authn refused"]);
        continue;
      }
      const decision = evaluateAuthz(provider, { service, claims, scope: { type: scope.type, name: scope.name, action, ...(scope.class !== undefined && { class: scope.class }) } });
      rows.push([label, decision.allowed ? "allowed" : "refused", decision.reason]);
    }
  }
  const width = Math.max(...rows.map(([label]) => label.length));
  for (const [label, verdict, reason] of rows) io.out(`${label.padEnd(width)}  ${verdict}  (${reason})`);
  return EXIT_OK;
}
