/**
 * One ServiceAccount's reconcile: for each registry it wants, a current pull
 * Secret (a fresh TokenRequest only when the Secret is missing, not ours any
 * more, reconfigured or due for rotation); for each registry it no longer
 * wants, the Secret removed — but only one this controller made. Then the
 * ServiceAccount's `imagePullSecrets` and `secrets` are brought in line with
 * a resourceVersion-guarded patch, retried on conflict, that keeps everyone
 * else's entries. Secrets are written before they are referenced and
 * dereferenced before they are deleted, so a pod never sees a reference to a
 * Secret that isn't there.
 */
import type { V1Secret, V1ServiceAccount } from "@kubernetes/client-node";
import type { RegistryConfig } from "./config.ts";
import { KubeApiError, type ClusterApi } from "./kube-client.ts";
import type { Logger } from "./logger.ts";
import type { Metrics } from "./metrics.ts";
import { pullSecretName } from "./naming.ts";
import { assessPullSecret, buildPullSecret, isManagedPullSecret } from "./pull-secret.ts";
import { rotationTime } from "./rotation.ts";
import { referencesSecret, refsPatch, updatedRefs } from "./sa-refs.ts";
import { tokenSha256 } from "./token-digest.ts";

/** A Secret with our name exists but someone else made it: never overwritten. */
export class ForeignSecretError extends Error {
  readonly code = "ForeignSecret";
}

export interface ReconcileOutcome {
  /** When (epoch ms) the earliest of this ServiceAccount's tokens is due for rotation. */
  readonly nextRotationAtMs?: number;
}

export interface ReconcilerOptions {
  readonly api: ClusterApi;
  readonly registries: readonly RegistryConfig[];
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly now?: () => number;
  readonly random?: () => number;
  /** Patch attempts before a run of 409s is reported as an error (and backed off). */
  readonly maxConflictRetries?: number;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export class Reconciler {
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly options: ReconcilerOptions) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  async reconcile(sa: V1ServiceAccount, wanted: readonly RegistryConfig[]): Promise<ReconcileOutcome> {
    const namespace = sa.metadata?.namespace as string;
    const name = sa.metadata?.name as string;
    const attach: string[] = [];
    const detach: string[] = [];
    const removals: { registry: RegistryConfig; secret: V1Secret }[] = [];
    const failures: unknown[] = [];
    let nextRotationAtMs: number | undefined;

    for (const registry of this.options.registries) {
      const secretName = pullSecretName(name, registry.host);
      try {
        if (wanted.some((w) => w.host === registry.host)) {
          const rotateAt = await this.ensureSecret(sa, registry, secretName);
          attach.push(secretName);
          nextRotationAtMs = Math.min(nextRotationAtMs ?? Infinity, rotateAt);
        } else if (referencesSecret(sa, secretName)) {
          const secret = await this.options.api.getSecret(namespace, secretName);
          if (secret && !isManagedPullSecret(secret, name, registry.host)) continue;
          detach.push(secretName);
          if (secret) removals.push({ registry, secret });
        }
      } catch (error) {
        failures.push(error);
        this.options.log.warn("pull secret not reconciled", { serviceAccount: `${namespace}/${name}`, registry: registry.host, error });
      }
    }

    await this.updateRefs(sa, attach, detach);
    for (const { registry, secret } of removals) {
      const meta = secret.metadata ?? {};
      await this.options.api.deleteSecret(namespace, meta.name as string, { uid: meta.uid as string, resourceVersion: meta.resourceVersion as string });
      this.options.metrics.inc("jwt_registry_auth_pull_secrets_deleted_total", { registry: registry.host });
      this.options.log.info("removed pull secret after opt-out", { serviceAccount: `${namespace}/${name}`, registry: registry.host, secret: meta.name });
    }
    if (failures.length > 0) throw failures[0];
    return nextRotationAtMs === undefined ? {} : { nextRotationAtMs };
  }

  /** Makes sure the Secret holds a current token; returns its rotation time. */
  private async ensureSecret(sa: V1ServiceAccount, registry: RegistryConfig, secretName: string): Promise<number> {
    const { api, log, metrics } = this.options;
    const namespace = sa.metadata?.namespace as string;
    const name = sa.metadata?.name as string;
    const existing = await api.getSecret(namespace, secretName);
    if (existing && !isManagedPullSecret(existing, name, registry.host)) {
      throw new ForeignSecretError(`secret ${namespace}/${secretName} exists and was not created by this controller for ${registry.host}; leaving it alone`);
    }
    const verdict = assessPullSecret(existing, sa, registry, this.now());
    if ("keep" in verdict) return verdict.keep.rotateAtMs;

    const issuedAtMs = this.now();
    const { token, expiresAtMs } = await api.requestToken(namespace, name, [registry.audience], registry.durationSeconds);
    metrics.inc("jwt_registry_auth_tokens_issued_total", { registry: registry.host });
    const rotateAtMs = rotationTime(issuedAtMs, expiresAtMs, this.random);
    const secret = buildPullSecret(sa, registry, secretName, { token, issuedAtMs, expiresAtMs, rotateAtMs });
    if (existing) {
      secret.metadata = { ...secret.metadata, resourceVersion: existing.metadata?.resourceVersion as string };
      await api.replaceSecret(namespace, secretName, secret);
    } else {
      await api.createSecret(namespace, secret);
    }
    log.info("pull secret written", {
      serviceAccount: `${namespace}/${name}`,
      registry: registry.host,
      secret: secretName,
      reason: verdict.renew,
      tokenSha256: tokenSha256(token),
      expiresAt: iso(expiresAtMs),
      rotateAt: iso(rotateAtMs),
    });
    return rotateAtMs;
  }

  private async updateRefs(sa: V1ServiceAccount, attach: readonly string[], detach: readonly string[]): Promise<void> {
    const namespace = sa.metadata?.namespace as string;
    const name = sa.metadata?.name as string;
    const attempts = this.options.maxConflictRetries ?? 5;
    let current: V1ServiceAccount | undefined = sa;
    for (let attempt = 1; current; attempt++) {
      const refs = updatedRefs(current, attach, detach);
      if (!refs) return;
      try {
        await this.options.api.patchServiceAccount(namespace, name, refsPatch(current.metadata?.resourceVersion as string, refs));
        return;
      } catch (error) {
        if (!(error instanceof KubeApiError && error.code === 409) || attempt >= attempts) throw error;
        this.options.log.debug("serviceaccount changed under us; retrying the patch", { serviceAccount: `${namespace}/${name}`, attempt });
        current = await this.options.api.getServiceAccount(namespace, name);
      }
    }
  }
}
