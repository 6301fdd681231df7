/**
 * The token endpoint: workload JWT (or refresh token) in, registry token out.
 *
 *   credentials → provider (D1, cached) → identity (signature, then iss/aud/exp)
 *   → authn condition → authz condition per (scope, action) → signed token
 *
 * Every outcome, success or failure, goes through `respond`, which writes the
 * one log line and builds the response; failures are typed, and one exhaustive
 * switch turns them into Distribution errors.
 */
import { errorResponse, formatScope, misconfiguredResponse, SettingError, sha256Hex, type AccessEntry, type ResourceScope } from "@jwt-registry-auth/protocol";
import type { Env } from "../env.ts";
import { ISSUER_RETRY_AFTER_SECONDS, verifyWorkloadToken, type IdentityRejection } from "../identity/verify-workload-token.ts";
import { logTokenRequest, type TokenRequestLog } from "../log.ts";
import { evaluateAuthn, evaluateAuthz } from "@jwt-registry-auth/core/policy/evaluate";
import { refusalReason } from "@jwt-registry-auth/core/policy/explain";
import { claimsUsedByProvider, pickClaims } from "@jwt-registry-auth/core/policy/claims-used";
import { lookupProvider, PolicyStoreUnavailableError, type LoadedProvider, type StoredProvider } from "../policy/store.ts";
import { loadSettings, type Settings } from "../settings.ts";
import { issueRefreshToken, refreshLifetime, stillHonoured, verifyRefreshToken, type RefreshResult, type RefreshRevocation } from "./refresh-token.ts";
import { issueRegistryToken, type TokenResponseBody } from "./issue-registry-token.ts";
import { parseTokenRequest, type RequestProblem, type TokenRequest } from "./request.ts";
import { checkRateLimit, type RateLimitKind } from "./rate-limit.ts";

type Failure =
  | { readonly kind: "settings"; readonly setting: string; readonly message: string }
  | RequestProblem
  | { readonly kind: "service_not_allowed" }
  | { readonly kind: "unknown_provider" }
  | { readonly kind: "policy_store_unavailable" }
  | { readonly kind: "provider_unavailable"; readonly error: string }
  | { readonly kind: "identity"; readonly reason: IdentityRejection; readonly detail: string }
  /** `reason`: the explanation (explain.ts) — for the log only; the wire gets `authn_condition_false`. */
  | { readonly kind: "authn_refused"; readonly reason: string }
  /** Over a `[[ratelimits]]` binding's limit (token/rate-limit.ts): which counter, and its period. */
  | { readonly kind: "rate_limited"; readonly limit: RateLimitKind; readonly retryAfterSeconds: number }
  | { readonly kind: "refresh_rejected"; readonly reason: RefreshRejection };

/** Every code a refused refresh token can get on the wire (README, "Security", lists them). */
type RefreshRejection = Extract<RefreshResult, { ok: false }>["reason"] | "provider_gone" | RefreshRevocation;

/** The realm of our own Basic challenge: clients show it when asking for credentials. */
const BASIC_CHALLENGE = 'Basic realm="jwt-registry-auth"';

/**
 * One answer for "no such provider" and for every reason a workload token is
 * refused, so the wire doesn't tell which provider names exist (a garbage JWT
 * under a real name would otherwise get `malformed`, under a made-up one
 * `unknown_provider`). The log line keeps the real reason, next to the token's
 * SHA-256, which the caller can compute to find it.
 */
export const AUTHENTICATION_FAILED = {
  reason: "authentication_failed",
  message: "authentication failed: unknown provider, or the workload token was not accepted (the token server logs why, with the token's SHA-256)",
} as const;

/**
 * The wire side of a failure: a fixed message and `detail.reason`, a stable
 * code (README, "Security", lists them). What exactly failed goes to the log
 * line only, through {@link failureReason}.
 */
function failureResponse(failure: Failure, requestId: string): Response {
  // Every error body carries the request id (also the X-Request-Id header and the log line's requestId).
  const unauthorized = (message: string, reason: string) =>
    errorResponse(401, "UNAUTHORIZED", message, { detail: { reason }, headers: { "WWW-Authenticate": BASIC_CHALLENGE }, requestId });
  switch (failure.kind) {
    case "settings":
      return misconfiguredResponse("token server", failure.setting, { requestId });
    case "no_credentials":
      return unauthorized("authentication required: send Basic credentials provider:workload-jwt", "no_credentials");
    case "bad_credentials":
      return unauthorized(failure.message, "bad_credentials");
    case "bad_request":
      // The message describes the client's own request (which parameter, which scope), never server state.
      return errorResponse(400, "UNSUPPORTED", `invalid token request: ${failure.message}`, { detail: { reason: "bad_request" }, requestId });
    case "too_large":
      return errorResponse(413, "UNSUPPORTED", "token request is too large", { detail: { reason: "too_large" }, requestId });
    case "service_not_allowed":
      return errorResponse(400, "DENIED", "this token server does not issue tokens for that service", { detail: { reason: "service_not_allowed" }, requestId });
    case "unknown_provider":
      return unauthorized(AUTHENTICATION_FAILED.message, AUTHENTICATION_FAILED.reason);
    case "policy_store_unavailable":
      return errorResponse(503, "UNAVAILABLE", "policies are unavailable: the policy database cannot be read", { detail: { reason: "policy_store_unavailable" }, requestId });
    case "provider_unavailable":
      return errorResponse(503, "UNAVAILABLE", "provider is unavailable: its configuration failed to load", { detail: { reason: "provider_unavailable" }, requestId });
    case "identity":
      if (failure.reason === "issuer_unavailable") {
        return errorResponse(503, "UNAVAILABLE", "the provider's issuer keys are unavailable", { detail: { reason: failure.reason }, headers: { "Retry-After": String(ISSUER_RETRY_AFTER_SECONDS) }, requestId });
      }
      return unauthorized(AUTHENTICATION_FAILED.message, AUTHENTICATION_FAILED.reason);
    case "authn_refused":
      // The token was genuine (its issuer signed it) and the policy refused it: 403, no Basic challenge, so
      // docker reports "denied" instead of prompting for other credentials. No policy text: the log has it.
      return errorResponse(403, "DENIED", "authentication refused by policy (the token server logs which condition term refused, under this request id)", {
        detail: { reason: "authn_condition_false" },
        requestId,
      });
    case "rate_limited":
      return errorResponse(429, "TOOMANYREQUESTS", `too many token requests; retry after ${failure.retryAfterSeconds} s`, {
        detail: { reason: "rate_limited" },
        headers: { "Retry-After": String(failure.retryAfterSeconds) },
        requestId,
      });
    case "refresh_rejected":
      // A code only (no verification text); the provider checks behind it run only for a genuine refresh token.
      return unauthorized(`refresh token rejected: ${failure.reason}`, failure.reason);
  }
}

function failureReason(failure: Failure): string {
  switch (failure.kind) {
    case "identity":
      // The detail is a fixed text or a claim name, never a value from the token.
      return `identity:${failure.reason}: ${failure.detail}`;
    case "refresh_rejected":
      return `${failure.kind}:${failure.reason}`;
    case "authn_refused":
      // Already "authn: false at line N (condition R:C): <term>" (or "error at …", naming the claim).
      return failure.reason;
    case "provider_unavailable":
      return `provider_unavailable:${failure.error}`;
    case "rate_limited":
      return `rate_limited:${failure.limit}`;
    case "settings":
      // The wire names only the setting; the operator reads what is wrong with it here.
      return `settings:${failure.setting}: ${failure.message}`;
    case "bad_request":
    case "bad_credentials":
      return `${failure.kind}:${failure.message}`;
    default:
      return failure.kind;
  }
}

interface Authorized {
  readonly provider: LoadedProvider;
  readonly providerId: string;
  readonly subject: string;
  readonly claims: Readonly<Record<string, unknown>>;
}

/** What one token request gets: the access entries to sign, and per-(scope, action) labels for the log. */
interface ScopeDecision {
  readonly access: AccessEntry[];
  readonly granted: string[];
  readonly refused: string[];
  /** Per refused (scope, action): `type:name:action: <explanation>`. */
  readonly reasons: string[];
}

/** Evaluates authz once per (scope, action); refused actions are left out, not errors. */
function decideScopes(who: Authorized, service: string, scopes: readonly ResourceScope[]): ScopeDecision {
  const decision: ScopeDecision = { access: [], granted: [], refused: [], reasons: [] };
  for (const scope of scopes) {
    const allowed: string[] = [];
    for (const action of scope.actions) {
      const verdict = evaluateAuthz(who.provider, {
        service,
        claims: who.claims,
        scope: { type: scope.type, name: scope.name, action, ...(scope.class !== undefined && { class: scope.class }) },
      });
      const label = formatScope({ ...scope, actions: [action] });
      if (verdict.allowed) {
        allowed.push(action);
        decision.granted.push(label);
      } else {
        decision.refused.push(label);
        // The log names the refused term's line in the applied file (issue 10).
        decision.reasons.push(`${label}: ${refusalReason(verdict, who.provider.config.sourceLines)}`);
      }
    }
    if (allowed.length > 0) {
      decision.access.push({ type: scope.type, name: scope.name, actions: allowed, ...(scope.class !== undefined && { class: scope.class }) });
    }
  }
  return decision;
}

type MutableLog = { -readonly [K in keyof TokenRequestLog]?: TokenRequestLog[K] };

async function providerFor(name: string, env: Env, ctx: ExecutionContext, missing: Failure, log: MutableLog): Promise<StoredProvider | Failure> {
  let lookup;
  try {
    lookup = await lookupProvider(env.POLICY_DB, name, Date.now(), (p) => ctx.waitUntil(p));
  } catch (error) {
    // D1 unreachable and no recent policies in memory: fail closed, and say it is our side.
    if (error instanceof PolicyStoreUnavailableError) return { kind: "policy_store_unavailable" };
    throw error;
  }
  // The policy version that decides this request, found or not: what an operator matches against `policy history`.
  log.policyVersion = lookup.version;
  if (!lookup.found) return missing;
  if (!lookup.ok) return { kind: "provider_unavailable", error: lookup.error };
  return lookup.value;
}

/** Who is asking: a verified workload JWT, or a refresh token standing in for one. */
async function identify(request: TokenRequest, settings: Settings, env: Env, ctx: ExecutionContext, now: number, log: MutableLog): Promise<Authorized | Failure> {
  if (request.grant === "refresh_token") {
    log.tokenSha256 = await sha256Hex(request.refreshToken);
    const refresh = await verifyRefreshToken(request.refreshToken, settings.signing, settings.tokenIssuer, request.service, now);
    if (!refresh.ok) return { kind: "refresh_rejected", reason: refresh.reason };
    log.provider = refresh.value.provider;
    log.subject = refresh.value.subject;
    // A refresh for a provider that no longer exists fails: the operator removed the trust.
    const stored = await providerFor(refresh.value.provider, env, ctx, { kind: "refresh_rejected", reason: "provider_gone" }, log);
    if ("kind" in stored) return stored;
    const revoked = stillHonoured(refresh.value, { id: stored.id, ...stored.provider.config }, settings.refreshMaxSeconds, now);
    if (revoked !== undefined) return { kind: "refresh_rejected", reason: revoked };
    return { provider: stored.provider, providerId: stored.id, subject: refresh.value.subject, claims: refresh.value.claims };
  }

  log.provider = request.provider.slice(0, 64);
  log.tokenSha256 = await sha256Hex(request.token);
  const stored = await providerFor(request.provider, env, ctx, { kind: "unknown_provider" }, log);
  if ("kind" in stored) return stored;
  const identity = await verifyWorkloadToken(request.token, stored.provider.config, {
    service: request.service,
    ...(settings.allowedServices !== undefined && { allowedServices: settings.allowedServices }),
    kv: env.JWKS_CACHE,
    allowHttpLoopback: settings.allowHttpLoopbackIssuers,
    waitUntil: (p) => ctx.waitUntil(p),
    now,
  });
  if (!identity.ok) return { kind: "identity", reason: identity.reason, detail: identity.detail };
  log.subject = identity.value.subject;
  return { provider: stored.provider, providerId: stored.id, subject: identity.value.subject, claims: identity.value.claims };
}

export async function handleTokenRequest(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const started = Date.now();
  // Ties the client's answer (header, and an authn refusal's detail) to the operator's log line.
  const requestId = crypto.randomUUID();
  const log: MutableLog = {};
  const respond = (response: Response, failure?: Failure): Response => {
    response.headers.set("X-Request-Id", requestId);
    logTokenRequest({
      requestId,
      status: response.status,
      grant: log.grant ?? "none",
      ...log,
      ...(failure !== undefined && { reason: failureReason(failure) }),
      durationMs: Date.now() - started,
    });
    return response;
  };
  const fail = (failure: Failure) => respond(failureResponse(failure, requestId), failure);

  let settings: Settings;
  try {
    settings = await loadSettings(env);
  } catch (error) {
    if (error instanceof SettingError) return fail({ kind: "settings", setting: error.setting, message: error.message });
    throw error;
  }

  const parsed = await parseTokenRequest(request);
  if (!parsed.ok) return fail(parsed.problem);
  const req = parsed.value;
  log.grant = req.grant;
  log.service = req.service;
  log.requested = req.scopes.map(formatScope);
  if (req.clientId !== undefined) log.clientId = req.clientId;
  if (settings.allowedServices !== undefined && !settings.allowedServices.has(req.service)) return fail({ kind: "service_not_allowed" });

  const now = Math.floor(Date.now() / 1000);
  const who = await identify(req, settings, env, ctx, now, log);
  if ("kind" in who) return fail(who);
  // Rate limits (token/rate-limit.ts): the subject's once its token is verified, the provider's once authn admits it.
  const limitFor = async (kind: RateLimitKind): Promise<Failure | undefined> => {
    const verdict = await checkRateLimit(env, kind, who.provider.config, who.subject);
    return verdict.limited ? { kind: "rate_limited", limit: verdict.kind, retryAfterSeconds: verdict.retryAfterSeconds } : undefined;
  };
  const subjectLimited = await limitFor("subject");
  if (subjectLimited !== undefined) return fail(subjectLimited);
  // What `policy replay` needs to re-decide this request: only the claims the conditions read (computed once per compiled provider).
  const used = claimsUsedByProvider(who.provider);
  if (used.replayable) {
    log.claimsRead = used.claims;
    log.claims = pickClaims(who.claims, used.claims);
  } else {
    log.claimsUnrecorded = used.reason;
  }
  // Every use of a refresh token re-evaluates today's policy, authn included.
  const authn = evaluateAuthn(who.provider, { service: req.service, claims: who.claims });
  log.authn = authn.allowed ? "allowed" : "refused";
  if (!authn.allowed) return fail({ kind: "authn_refused", reason: refusalReason(authn, who.provider.config.sourceLines) });
  const providerLimited = await limitFor("provider");
  if (providerLimited !== undefined) return fail(providerLimited);

  const decision = decideScopes(who, req.service, req.scopes);
  log.granted = decision.granted;
  log.refused = decision.refused;
  if (decision.reasons.length > 0) log.reason = decision.reasons.join(" | ");

  const sub = `${who.provider.config.name}:${who.subject}`;
  const jti = crypto.randomUUID();
  log.jti = jti;
  let body: TokenResponseBody = await issueRegistryToken(settings, sub, req.service, decision.access, now, jti);

  if (req.grant === "password" && req.offline) {
    // With refresh disabled the login still succeeds: docker then keeps the password instead.
    const lifetime = refreshLifetime(who.provider.config.refreshSeconds, settings.refreshMaxSeconds);
    if (lifetime > 0) {
      const grant = { provider: who.provider.config.name, providerId: who.providerId, issuer: who.provider.config.issuer, subject: who.subject, service: req.service, claims: who.claims };
      const refreshToken = await issueRefreshToken(settings.signing, settings.tokenIssuer, grant, lifetime, now);
      body = { ...body, refresh_token: refreshToken };
      log.refreshIssued = true;
    }
  }

  return respond(
    new Response(JSON.stringify(body), {
      status: 200,
      headers: { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store", Pragma: "no-cache" },
    }),
  );
}
