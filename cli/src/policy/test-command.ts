/**
 * `policy test`: what a provider's policy decides for given claims, per
 * requested scope and action, and which condition decided — without a token
 * server. With --token the claims are decoded WITHOUT verifying the signature
 * (the output says so); the token itself is never printed, only its SHA-256.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { decodeJwt } from "jose";
import { parseScopes, ScopeError, formatScope, type ResourceScope } from "@jwt-registry-auth/protocol";
import type { ProviderConfig } from "@jwt-registry-auth/core/providers/model";
import { compileProvider, describeProviderIssue } from "@jwt-registry-auth/core/policy/compile-provider";
import { evaluateAuthn, evaluateAuthz } from "@jwt-registry-auth/core/policy/evaluate";
import { EXIT_FAILED, EXIT_OK, parseCommandArgs, UsageError, type Io } from "../io.ts";
import { loadPolicyFile, printDiagnostics } from "./load.ts";

export const TEST_HELP = `Usage: jwt-registry-auth policy test FILE --service SERVICE (--claims JSON|@FILE | --token JWT) --scope SCOPE [--scope SCOPE …] [--provider NAME]

Evaluates FILE's policy for the given claims, printing per scope and action
whether it is allowed or refused and which condition decided.

  --service S     the registry service (the token request's service=)
  --claims JSON   the workload token's claims as a JSON object, or @path to a JSON file
  --token JWT     a workload token; its claims are decoded WITHOUT verifying it
  --scope SCOPE   type[(class)]:name:actions, repeatable (e.g. repository:org/app:pull,push)
  --provider NAME the provider to use; default: the only one, or the one whose issuer is the claims' iss`;

interface Claims {
  readonly claims: Record<string, unknown>;
  readonly source: string;
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
  return { claims: decoded, source: `decoded from --token WITHOUT verifying its signature (token sha256 ${sha256})` };
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
    },
    { min: 1, max: 1, names: "FILE" },
  );
  if (values.service === undefined || values.service === "") throw new UsageError("--service is required");
  const service = values.service;
  const { claims, source } = readClaims(values.claims, values.token);
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
  io.out(`claims:   ${source}`);
  const authn = evaluateAuthn(provider, { service, claims });
  io.out(`authn:    ${authn.allowed ? "allowed" : "refused"} (${authn.reason})`);
  if (!authn.allowed) io.out("          authentication refused, so every scope is refused (the server answers 401)");

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
