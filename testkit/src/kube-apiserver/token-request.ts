/**
 * `POST …/serviceaccounts/NAME/token` (authentication.k8s.io/v1 TokenRequest):
 * the apiserver's validation and defaults, and a JWT with the real
 * service-account claims signed by the cluster's service-account issuer. Keys
 * and signing are the local OIDC issuer's; only `iss` is the apiserver's.
 */
import { kubernetesClaims, type OidcIssuer } from "../oidc-issuer.ts";
import type { KubeObject } from "./resources.ts";
import { badRequest, fieldInvalid, invalid } from "./status.ts";

export const DEFAULT_API_AUDIENCE = "https://kubernetes.default.svc.cluster.local";
const MIN_EXPIRATION_SECONDS = 600;
const MAX_EXPIRATION_SECONDS = 2 ** 32;

export interface TokenRequestOptions {
  /** `--service-account-issuer`. */
  readonly issuer: string;
  /** `--api-audiences`: the audience of a request that names none. */
  readonly apiAudiences: readonly string[];
  /** `--service-account-max-token-expiration`: longer requests are silently shortened. */
  readonly maxExpirationSeconds?: number;
}

interface TokenRequestSpec {
  readonly audiences: string[];
  readonly expirationSeconds: number;
}

function parseSpec(body: Record<string, unknown>, name: string, options: TokenRequestOptions): TokenRequestSpec {
  if (body["apiVersion"] !== undefined && body["apiVersion"] !== "authentication.k8s.io/v1") throw badRequest(`the API version in the data (${String(body["apiVersion"])}) does not match the expected API version (authentication.k8s.io/v1)`);
  if (body["kind"] !== undefined && body["kind"] !== "TokenRequest") throw badRequest(`the kind in the data (${String(body["kind"])}) does not match the expected kind (TokenRequest)`);
  const spec = (body["spec"] ?? {}) as Record<string, unknown>;
  const expiration = spec["expirationSeconds"] ?? 3600;
  const audiences = spec["audiences"] ?? [];
  const causes = [];
  if (!Number.isInteger(expiration)) causes.push(fieldInvalid("spec.expirationSeconds", expiration, "must be an integer"));
  else if ((expiration as number) < MIN_EXPIRATION_SECONDS) causes.push(fieldInvalid("spec.expirationSeconds", expiration, "may not specify a duration less than 10 minutes"));
  else if ((expiration as number) > MAX_EXPIRATION_SECONDS) causes.push(fieldInvalid("spec.expirationSeconds", expiration, "may not specify a duration larger than 2^32 seconds"));
  if (!Array.isArray(audiences) || audiences.some((a) => typeof a !== "string")) causes.push(fieldInvalid("spec.audiences", audiences, "must be a list of strings"));
  if (spec["boundObjectRef"] !== undefined && spec["boundObjectRef"] !== null) {
    causes.push(fieldInvalid("spec.boundObjectRef", spec["boundObjectRef"], "bound tokens are not implemented by this stand-in"));
  }
  if (causes.length > 0) throw invalid("TokenRequest", "authentication.k8s.io", name, causes);
  return {
    audiences: (audiences as string[]).length > 0 ? (audiences as string[]) : [...options.apiAudiences],
    expirationSeconds: Math.min(expiration as number, options.maxExpirationSeconds ?? MAX_EXPIRATION_SECONDS),
  };
}

/** Mints the token for `serviceAccount` and returns the TokenRequest response body. */
export async function issueToken(signer: OidcIssuer, serviceAccount: KubeObject, body: Record<string, unknown>, options: TokenRequestOptions): Promise<Record<string, unknown>> {
  const { name, namespace, uid } = serviceAccount.metadata;
  const spec = parseSpec(body, name, options);
  const now = Math.floor(Date.now() / 1000);
  // A TokenRequest without a bound object carries no pod/node claims, and the real uid.
  const claims = {
    ...kubernetesClaims({ namespace: namespace as string, serviceAccount: name, audience: spec.audiences }),
    iss: options.issuer,
    "kubernetes.io": { namespace, serviceaccount: { name, uid } },
  };
  const token = await signer.mint(claims, { now, expiresIn: spec.expirationSeconds });
  return {
    kind: "TokenRequest",
    apiVersion: "authentication.k8s.io/v1",
    metadata: { name, namespace, creationTimestamp: null },
    spec: { audiences: spec.audiences, expirationSeconds: spec.expirationSeconds, boundObjectRef: null },
    status: { token, expirationTimestamp: new Date((now + spec.expirationSeconds) * 1000).toISOString().replace(/\.\d+Z$/, "Z") },
  };
}
