/**
 * Which of the controller's registries a ServiceAccount wants pull Secrets
 * for. The ServiceAccount's own annotation decides when present (an empty
 * value opts out); otherwise its namespace's annotation applies to every
 * ServiceAccount in it. Hosts the controller doesn't serve are reported, not
 * guessed at.
 */
import type { V1Namespace, V1ServiceAccount } from "@kubernetes/client-node";
import { REGISTRIES_ANNOTATION } from "./annotations.ts";
import type { NamespaceScope, RegistryConfig } from "./config.ts";

export interface OptIn {
  readonly registries: readonly RegistryConfig[];
  /** Hosts named in the annotation that this controller does not serve. */
  readonly unknown: readonly string[];
}

const NONE: OptIn = { registries: [], unknown: [] };

/** Whether the controller serves ServiceAccounts in `namespace` at all. With a selector, only namespaces the selector matched are known. */
export function namespaceInScope(scope: NamespaceScope, namespace: string, known: V1Namespace | undefined): boolean {
  switch (scope.kind) {
    case "all":
      return true;
    case "list":
      return scope.names.includes(namespace);
    case "selector":
      return known !== undefined;
  }
}

export function optIn(serviceAccount: V1ServiceAccount, namespace: V1Namespace | undefined, registries: readonly RegistryConfig[]): OptIn {
  const own = serviceAccount.metadata?.annotations?.[REGISTRIES_ANNOTATION];
  const value = own ?? namespace?.metadata?.annotations?.[REGISTRIES_ANNOTATION];
  if (value === undefined) return NONE;
  const wanted = value
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== "");
  if (wanted.includes("*")) return { registries, unknown: [] };
  return {
    registries: registries.filter((r) => wanted.includes(r.host)),
    unknown: wanted.filter((h) => !registries.some((r) => r.host === h)),
  };
}
