/**
 * The pull Secret the controller owns for one (ServiceAccount, registry): how
 * it is built, how it is recognised as ours, and whether its token must be
 * replaced. Everything needed to decide — issue, expiry and rotation times,
 * audience, provider — lives in its annotations, so a restarted controller
 * carries on from the Secret rather than from memory.
 */
import type { V1OwnerReference, V1Secret, V1ServiceAccount } from "@kubernetes/client-node";
import { MANAGED_BY, MANAGED_BY_LABEL, SECRET_ANNOTATIONS as A } from "./annotations.ts";
import type { RegistryConfig } from "./config.ts";
import { dockerAuthFor, dockerConfig } from "./docker-config.ts";
import { tokenSha256 } from "./token-digest.ts";

export const DOCKER_CONFIG_JSON_TYPE = "kubernetes.io/dockerconfigjson";
const PAYLOAD_KEY = ".dockerconfigjson";

export interface TokenGrant {
  readonly token: string;
  readonly issuedAtMs: number;
  readonly expiresAtMs: number;
  readonly rotateAtMs: number;
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

export function ownerReference(sa: V1ServiceAccount): V1OwnerReference {
  return { apiVersion: "v1", kind: "ServiceAccount", name: sa.metadata?.name as string, uid: sa.metadata?.uid as string };
}

export function buildPullSecret(sa: V1ServiceAccount, registry: RegistryConfig, name: string, grant: TokenGrant): V1Secret {
  const payload = JSON.stringify(dockerConfig(registry.host, registry.provider, grant.token));
  return {
    apiVersion: "v1",
    kind: "Secret",
    type: DOCKER_CONFIG_JSON_TYPE,
    metadata: {
      name,
      namespace: sa.metadata?.namespace as string,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY },
      annotations: {
        [A.registry]: registry.host,
        [A.serviceAccount]: sa.metadata?.name as string,
        [A.provider]: registry.provider,
        [A.audience]: registry.audience,
        [A.issuedAt]: iso(grant.issuedAtMs),
        [A.expiresAt]: iso(grant.expiresAtMs),
        [A.rotateAt]: iso(grant.rotateAtMs),
        [A.tokenSha256]: tokenSha256(grant.token),
      },
      ownerReferences: [ownerReference(sa)],
    },
    data: { [PAYLOAD_KEY]: Buffer.from(payload, "utf8").toString("base64") },
  };
}

/** Ours = labelled by us for this ServiceAccount and registry. Anything else with the name is never touched. */
export function isManagedPullSecret(secret: V1Secret, serviceAccount: string, host: string): boolean {
  const meta = secret.metadata;
  return meta?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY && meta.annotations?.[A.registry] === host && meta.annotations[A.serviceAccount] === serviceAccount;
}

export type RenewalReason = "missing" | "owner-changed" | "config-changed" | "malformed" | "rotation-due";

export interface SecretState {
  readonly rotateAtMs: number;
  readonly expiresAtMs: number;
}

const time = (value: string | undefined): number | undefined => {
  const ms = value === undefined ? NaN : Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
};

/**
 * Why the Secret's token must be replaced now, or its schedule when it
 * need not be. `secret` must already be known to be ours.
 */
export function assessPullSecret(secret: V1Secret | undefined, sa: V1ServiceAccount, registry: RegistryConfig, nowMs: number): { renew: RenewalReason } | { keep: SecretState } {
  if (!secret) return { renew: "missing" };
  const annotations = secret.metadata?.annotations ?? {};
  if (!(secret.metadata?.ownerReferences ?? []).some((o) => o.uid === sa.metadata?.uid)) return { renew: "owner-changed" };
  if (annotations[A.audience] !== registry.audience || annotations[A.provider] !== registry.provider) return { renew: "config-changed" };
  const rotateAtMs = time(annotations[A.rotateAt]);
  const expiresAtMs = time(annotations[A.expiresAt]);
  const payload = secret.data?.[PAYLOAD_KEY];
  const auth = payload === undefined ? undefined : dockerAuthFor(Buffer.from(payload, "base64").toString("utf8"), registry.host);
  if (secret.type !== DOCKER_CONFIG_JSON_TYPE || rotateAtMs === undefined || expiresAtMs === undefined || auth?.username !== registry.provider) return { renew: "malformed" };
  if (nowMs >= rotateAtMs || nowMs >= expiresAtMs) return { renew: "rotation-due" };
  return { keep: { rotateAtMs, expiresAtMs } };
}
