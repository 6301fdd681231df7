/**
 * The ServiceAccount's `imagePullSecrets` and `secrets` after adding ours and
 * removing the ones we no longer want, keeping every other entry and the
 * order. Sent as a merge patch guarded by the resourceVersion it was computed
 * from, so a concurrent edit is a 409 and a retry, never a lost entry.
 */
import type { V1LocalObjectReference, V1ObjectReference, V1ServiceAccount } from "@kubernetes/client-node";

export interface SecretRefs {
  readonly imagePullSecrets: V1LocalObjectReference[];
  readonly secrets: V1ObjectReference[];
}

function update<T extends { name?: string }>(list: readonly T[] | undefined, add: readonly string[], remove: readonly string[], make: (name: string) => T): T[] {
  const kept = (list ?? []).filter((entry) => entry.name === undefined || !remove.includes(entry.name));
  for (const name of add) if (!kept.some((entry) => entry.name === name)) kept.push(make(name));
  return kept;
}

/** The new lists, or undefined when the ServiceAccount already has exactly what we want. */
export function updatedRefs(sa: V1ServiceAccount, add: readonly string[], remove: readonly string[]): SecretRefs | undefined {
  const imagePullSecrets = update(sa.imagePullSecrets, add, remove, (name) => ({ name }));
  const secrets = update(sa.secrets, add, remove, (name) => ({ name }));
  const same = (a: readonly unknown[], b: readonly unknown[] | undefined): boolean => JSON.stringify(a) === JSON.stringify(b ?? []);
  return same(imagePullSecrets, sa.imagePullSecrets) && same(secrets, sa.secrets) ? undefined : { imagePullSecrets, secrets };
}

/** Whether `name` is referenced from either list. */
export function referencesSecret(sa: V1ServiceAccount, name: string): boolean {
  return (sa.imagePullSecrets ?? []).some((r) => r.name === name) || (sa.secrets ?? []).some((r) => r.name === name);
}

/** The merge patch body: both lists replaced whole, conditional on `resourceVersion`. */
export function refsPatch(resourceVersion: string, refs: SecretRefs): Record<string, unknown> {
  return { metadata: { resourceVersion }, imagePullSecrets: refs.imagePullSecrets, secrets: refs.secrets };
}
