/**
 * Checks a normalized ProviderConfig — what the D1 store reads back as JSON —
 * and the field rules the YAML parser shares. Anything malformed is rejected
 * whole (fail closed): no field is defaulted or skipped.
 */
import type { ProviderConfig } from "./model.ts";
import { checkIssuerUrl } from "@jwt-registry-auth/protocol/issuer-url";
import type { Result } from "@jwt-registry-auth/protocol/result";
import { MAX_CONDITION_LENGTH } from "../policy/static-check.ts";
import { maxTokenLifetimeProblem } from "./token-lifetime.ts";
import { UNPINNED_ACKNOWLEDGED } from "../policy/shared-issuer.ts";

/** The provider name is the Basic-auth username, so no `:`; lowercase so it reads the same in logs and configs. */
export const PROVIDER_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;
export const DEFAULT_REFRESH_SECONDS = 3600;
export const MIN_REFRESH_SECONDS = 60;
export const MAX_REFRESH_SECONDS = 30 * 24 * 3600;
export const MAX_AUDIENCES = 32;
/** Longest description, audience and other free-text field (characters). */
export const MAX_FIELD_LENGTH = 1024;
const MAX_KEYS = 32;

/** hashicorp/cap's rule: discovery lives at the issuer + `/.well-known/openid-configuration`. */
export function discoveryUrlFor(issuer: string): string {
  return `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
}

/**
 * The token server's own URL rule (protocol/src/issuer-url.ts), with loopback http
 * allowed: whether this deployment accepts it is the ALLOW_HTTP_LOOPBACK_ISSUERS
 * setting's business, decided when the issuer is fetched. Issuer identifiers
 * carry no query either (OIDC Discovery §4.3 compares them as strings).
 */
export function issuerProblem(value: string): string | undefined {
  const check = checkIssuerUrl(value, true);
  if (!check.ok) return `${JSON.stringify(value)} is not a valid issuer: ${check.detail} (https only; http only for loopback issuers in local development)`;
  if (check.value.search !== "") return `${JSON.stringify(value)} must not have a query`;
  return undefined;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\s]*)-----END \1-----/g;

/** A public key as the PoC took it: one PEM block, SPKI `PUBLIC KEY` or an X.509 `CERTIFICATE`. */
export function pemProblem(pem: string): string | undefined {
  const blocks = [...pem.matchAll(PEM_BLOCK)];
  const [block] = blocks;
  if (block === undefined) return "is not a PEM block (-----BEGIN PUBLIC KEY----- or -----BEGIN CERTIFICATE-----)";
  if (blocks.length > 1) return "holds more than one PEM block; give each key its own entry";
  if (pem.replace(block[0], "").trim() !== "") return "has text outside its PEM block";
  const label = block[1] ?? "";
  if (label.includes("PRIVATE")) return `is a private key (${label}); give the issuer's public key`;
  if (label !== "PUBLIC KEY" && label !== "CERTIFICATE") return `is a ${label} block; expected PUBLIC KEY (SPKI) or CERTIFICATE`;
  let der: string;
  try {
    der = atob((block[2] ?? "").replace(/\s+/g, ""));
  } catch {
    return "has an invalid base64 body";
  }
  // Every SPKI and certificate is a DER SEQUENCE (0x30) of some length.
  if (der.length < 32 || der.charCodeAt(0) !== 0x30) return "does not hold a DER-encoded key or certificate";
  return undefined;
}

const PRIVATE_JWK_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
const EC_CURVES = new Set(["P-256", "P-384", "P-521"]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A public signing JWK: RSA, EC or OKP (Ed25519); never symmetric, never with private members. */
export function jwkProblem(jwk: unknown): string | undefined {
  if (!isRecord(jwk)) return "is not a JSON object";
  const stringMember = (name: string): boolean => typeof jwk[name] === "string" && jwk[name] !== "";
  const privateMember = PRIVATE_JWK_MEMBERS.find((m) => m in jwk);
  if (privateMember !== undefined) return `has the private member "${privateMember}"; give the public key only`;
  if (jwk.use !== undefined && jwk.use !== "sig") return `has use ${JSON.stringify(jwk.use)}; only "sig" keys verify tokens`;
  if (jwk.alg !== undefined && (typeof jwk.alg !== "string" || /^(HS|none)/i.test(jwk.alg))) return `has alg ${JSON.stringify(jwk.alg)}, which is not allowed`;
  if (jwk.kid !== undefined && typeof jwk.kid !== "string") return "has a non-string kid";
  switch (jwk.kty) {
    case "RSA":
      return stringMember("n") && stringMember("e") ? undefined : 'is an RSA key without "n" and "e"';
    case "EC":
      if (typeof jwk.crv !== "string" || !EC_CURVES.has(jwk.crv)) return `has unsupported EC curve ${JSON.stringify(jwk.crv)}`;
      return stringMember("x") && stringMember("y") ? undefined : 'is an EC key without "x" and "y"';
    case "OKP":
      if (jwk.crv !== "Ed25519") return `has unsupported OKP curve ${JSON.stringify(jwk.crv)}`;
      return stringMember("x") ? undefined : 'is an OKP key without "x"';
    default:
      return `has kty ${JSON.stringify(jwk.kty)}; expected RSA, EC or OKP`;
  }
}

export type ValidateResult = Result<ProviderConfig, { readonly error: string }>;

const CONFIG_KEYS = new Set(["name", "description", "issuer", "keys", "audiences", "authn", "authz", "refreshSeconds", "maxTokenLifetimeSeconds", "sharedIssuer", "rateLimit", "parsed", "sourceLines"]);

function fail(error: string): ValidateResult {
  return { ok: false, error };
}

function isBoundedString(value: unknown, max = MAX_FIELD_LENGTH): value is string {
  return typeof value === "string" && value !== "" && value.length <= max;
}

function keysProblem(keys: unknown, issuer: string): string | undefined {
  if (!isRecord(keys)) return "keys is not an object";
  const extra = Object.keys(keys).filter((k) => !["source", "discoveryUrl", "pems", "jwks"].includes(k));
  if (extra.length > 0) return `keys has unknown fields: ${extra.join(", ")}`;
  switch (keys.source) {
    case "discovery":
      if (Object.keys(keys).length !== 2) return "keys (discovery) must have exactly source and discoveryUrl";
      return keys.discoveryUrl === discoveryUrlFor(issuer) ? undefined : "keys.discoveryUrl does not match the issuer";
    case "static": {
      if (Object.keys(keys).length !== 2) return "keys (static) must have exactly source and pems";
      const pems = keys.pems;
      if (!Array.isArray(pems) || pems.length === 0 || pems.length > MAX_KEYS) return `keys.pems must hold 1 to ${MAX_KEYS} PEM strings`;
      for (const [i, pem] of pems.entries()) {
        const problem = typeof pem === "string" ? pemProblem(pem) : "is not a string";
        if (problem) return `keys.pems[${i}] ${problem}`;
      }
      return undefined;
    }
    case "jwks": {
      if (Object.keys(keys).length !== 2) return "keys (jwks) must have exactly source and jwks";
      const jwks = keys.jwks;
      if (!isRecord(jwks) || !Array.isArray(jwks.keys)) return "keys.jwks must be an object with a keys array";
      if (jwks.keys.length === 0 || jwks.keys.length > MAX_KEYS) return `keys.jwks.keys must hold 1 to ${MAX_KEYS} keys`;
      for (const [i, jwk] of (jwks.keys as unknown[]).entries()) {
        const problem = jwkProblem(jwk);
        if (problem) return `keys.jwks.keys[${i}] ${problem}`;
      }
      return undefined;
    }
    default:
      return `keys.source ${JSON.stringify(keys.source)} is not discovery, static or jwks`;
  }
}

/** Validates stored JSON (already parsed) as a ProviderConfig. */
export function validateProviderConfig(value: unknown): ValidateResult {
  if (!isRecord(value)) return fail("provider config is not a JSON object");
  const unknown = Object.keys(value).filter((k) => !CONFIG_KEYS.has(k));
  if (unknown.length > 0) return fail(`unknown fields: ${unknown.join(", ")}`);
  const { name, description, issuer, keys, audiences, authn, authz, refreshSeconds, maxTokenLifetimeSeconds, sharedIssuer, rateLimit, parsed, sourceLines } = value;
  if (typeof name !== "string" || !PROVIDER_NAME_PATTERN.test(name)) return fail(`name ${JSON.stringify(name)} does not match ${PROVIDER_NAME_PATTERN.source}`);
  if (description !== undefined && !isBoundedString(description)) return fail(`description must be a non-empty string of at most ${MAX_FIELD_LENGTH} characters`);
  if (typeof issuer !== "string") return fail("issuer must be a string");
  const issuerIssue = issuerProblem(issuer);
  if (issuerIssue) return fail(`issuer ${issuerIssue}`);
  const keysIssue = keysProblem(keys, issuer);
  if (keysIssue) return fail(keysIssue);
  if (!Array.isArray(audiences) || audiences.length > MAX_AUDIENCES || !audiences.every((a) => isBoundedString(a))) {
    return fail(`audiences must be a list of at most ${MAX_AUDIENCES} non-empty strings of at most ${MAX_FIELD_LENGTH} characters`);
  }
  for (const [field, condition] of [["authn", authn], ["authz", authz]] as const) {
    if (condition !== undefined && !isBoundedString(condition, MAX_CONDITION_LENGTH)) return fail(`${field} must be a non-empty CEL string of at most ${MAX_CONDITION_LENGTH} characters`);
  }
  if (
    typeof refreshSeconds !== "number" ||
    !Number.isInteger(refreshSeconds) ||
    (refreshSeconds !== 0 && (refreshSeconds < MIN_REFRESH_SECONDS || refreshSeconds > MAX_REFRESH_SECONDS))
  ) {
    return fail(`refreshSeconds must be 0 or an integer from ${MIN_REFRESH_SECONDS} to ${MAX_REFRESH_SECONDS}`);
  }
  if (maxTokenLifetimeSeconds !== undefined) {
    const problem = maxTokenLifetimeProblem(maxTokenLifetimeSeconds);
    if (problem !== undefined) return fail(`maxTokenLifetimeSeconds ${problem}`);
  }
  // The shared-issuer guard itself (policy/shared-issuer.ts) runs when a file is loaded, not here: a row
  // stored before the guard existed keeps loading, and the opt-out is only recorded, for /healthz.
  if (sharedIssuer !== undefined && sharedIssuer !== UNPINNED_ACKNOWLEDGED) return fail(`sharedIssuer must be ${JSON.stringify(UNPINNED_ACKNOWLEDGED)} or absent`);
  // "default" is the absence of the field, so a stored row has one spelling per tier.
  if (rateLimit !== undefined && rateLimit !== "off" && rateLimit !== "strict") return fail('rateLimit must be "off", "strict" or absent (default)');
  // Only the shape here: compileStoredProvider decodes each form against its source.
  if (parsed !== undefined) {
    if (!isRecord(parsed)) return fail("parsed must be an object");
    const stray = Object.keys(parsed).filter((k) => !(k === "authn" ? authn !== undefined : k === "authz" ? authz !== undefined : false));
    if (stray.length > 0) return fail(`parsed has entries without a condition: ${stray.join(", ")}`);
  }
  if (sourceLines !== undefined) {
    if (!isRecord(sourceLines)) return fail("sourceLines must be an object");
    for (const [k, line] of Object.entries(sourceLines)) {
      if ((k !== "authn" || authn === undefined) && (k !== "authz" || authz === undefined)) return fail(`sourceLines has an entry without a condition: ${k}`);
      if (typeof line !== "number" || !Number.isSafeInteger(line) || line < 1) return fail(`sourceLines.${k} must be a positive integer`);
    }
  }
  // Every field was checked above; this narrows the checked JSON to the model.
  return { ok: true, value: value as unknown as ProviderConfig };
}
