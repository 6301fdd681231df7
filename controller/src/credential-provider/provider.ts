/**
 * The kubelet image credential provider (KEP-4412, credentialprovider.kubelet.k8s.io/v1):
 * a CredentialProviderRequest carrying the pod's service-account token for
 * the registry audience becomes a CredentialProviderResponse whose password
 * is that token — the token server verifies it. Pure: input in, response or
 * ProviderError out; never a token in an error.
 */
import { decodeJwt } from "jose";
import { formatGoDuration } from "../duration.ts";
import { registryOf } from "./image-registry.ts";

export const API_VERSION = "credentialprovider.kubelet.k8s.io/v1";
export const CACHE_KEY_TYPES = ["Image", "Registry", "Global"] as const;
export type CacheKeyType = (typeof CACHE_KEY_TYPES)[number];

export class ProviderError extends Error {}

export interface ProviderOptions {
  /** Default username (token server provider name); a ServiceAccount annotation may override it. */
  readonly username?: string;
  /** The ServiceAccount annotation naming the provider. */
  readonly usernameAnnotation: string;
  readonly cacheKeyType: CacheKeyType;
  /** Registries served (at least one): an image on any other is refused before the token is read. */
  readonly registries: readonly string[];
  /** Subtracted from the token's remaining lifetime for `cacheDuration`, so the kubelet never uses it at the last second. */
  readonly cacheMarginSeconds: number;
}

export interface CredentialProviderResponse {
  readonly apiVersion: typeof API_VERSION;
  readonly kind: "CredentialProviderResponse";
  readonly cacheKeyType: CacheKeyType;
  readonly cacheDuration: string;
  readonly auth: Record<string, { readonly username: string; readonly password: string }>;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function tokenExpiry(token: string, nowSeconds: number): number {
  let exp: unknown;
  try {
    // Not verified here: the kubelet got it from the apiserver, and the token server verifies it.
    exp = decodeJwt(token).exp;
  } catch {
    throw new ProviderError("serviceAccountToken is not a JWT");
  }
  if (typeof exp !== "number" || !Number.isFinite(exp)) throw new ProviderError("serviceAccountToken has no exp claim");
  if (exp <= nowSeconds) throw new ProviderError("serviceAccountToken has expired");
  return exp;
}

export function credentialResponse(request: unknown, options: ProviderOptions, nowMs: number): CredentialProviderResponse {
  if (!isRecord(request)) throw new ProviderError("request is not a JSON object");
  if (request["apiVersion"] !== API_VERSION) throw new ProviderError(`unsupported apiVersion ${JSON.stringify(request["apiVersion"])}; expected ${API_VERSION}`);
  if (request["kind"] !== "CredentialProviderRequest") throw new ProviderError(`unexpected kind ${JSON.stringify(request["kind"])}; expected CredentialProviderRequest`);
  const image = request["image"];
  if (typeof image !== "string" || image === "") throw new ProviderError("image is missing");
  const registry = registryOf(image);
  if (registry === undefined) throw new ProviderError(`image ${JSON.stringify(image)} is not a valid image reference`);
  // Never "any registry": the kubelet's matchImages is the only other gate, and one wildcard there would send the pod's token anywhere.
  if (options.registries.length === 0) throw new ProviderError("no registry configured: pass --registry HOST");
  if (!options.registries.includes(registry)) throw new ProviderError(`image registry ${registry} is not one this provider serves (${options.registries.join(", ")}); no credentials given`);
  const token = request["serviceAccountToken"];
  if (typeof token !== "string" || token === "") throw new ProviderError("serviceAccountToken is missing: set tokenAttributes.serviceAccountTokenAudience in the kubelet's CredentialProviderConfig");
  const annotations = request["serviceAccountAnnotations"] ?? {};
  if (!isRecord(annotations) || Object.values(annotations).some((v) => typeof v !== "string")) throw new ProviderError("serviceAccountAnnotations must map strings to strings");
  const fromAnnotation = annotations[options.usernameAnnotation] as string | undefined;
  const username = fromAnnotation !== undefined && fromAnnotation !== "" ? fromAnnotation : options.username;
  if (username === undefined || username === "") throw new ProviderError(`no username: pass --username or annotate the ServiceAccount with ${options.usernameAnnotation}`);
  const nowSeconds = Math.floor(nowMs / 1000);
  const exp = tokenExpiry(token, nowSeconds);
  return {
    apiVersion: API_VERSION,
    kind: "CredentialProviderResponse",
    cacheKeyType: options.cacheKeyType,
    cacheDuration: formatGoDuration(Math.max(0, exp - nowSeconds - options.cacheMarginSeconds)),
    auth: { [registry]: { username, password: token } },
  };
}
