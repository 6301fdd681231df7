/**
 * RBAC for the stand-in: the same rule matching the apiserver's RBAC
 * authorizer does over Roles, ClusterRoles and their bindings, so a client can
 * be run with exactly the permissions its deploy manifests grant and any verb
 * it forgot shows up as a 403.
 */
import { StatusError } from "./status.ts";

export interface RequestAttributes {
  readonly user: string;
  readonly verb: string;
  readonly apiGroup: string;
  readonly resource: string;
  readonly subresource?: string;
  readonly namespace?: string;
  readonly name?: string;
}

export type Authorizer = (attributes: RequestAttributes) => boolean;

export interface PolicyRule {
  readonly apiGroups?: readonly string[];
  readonly resources?: readonly string[];
  readonly verbs: readonly string[];
  readonly resourceNames?: readonly string[];
}

interface Manifest {
  readonly kind?: string;
  readonly metadata?: { readonly name?: string; readonly namespace?: string };
  readonly rules?: readonly PolicyRule[];
  readonly roleRef?: { readonly kind: string; readonly name: string };
  readonly subjects?: readonly { readonly kind: string; readonly name: string; readonly namespace?: string }[];
}

export const allowAll: Authorizer = () => true;

function ruleAllows(rule: PolicyRule, a: RequestAttributes): boolean {
  const has = (list: readonly string[] | undefined, value: string): boolean => (list ?? []).includes("*") || (list ?? []).includes(value);
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  if (!has(rule.verbs, a.verb) || !has(rule.apiGroups, a.apiGroup) || !has(rule.resources, resource)) return false;
  if (rule.resourceNames && rule.resourceNames.length > 0) return a.name !== undefined && rule.resourceNames.includes(a.name);
  return true;
}

/**
 * An authorizer for one ServiceAccount from RBAC manifests (the parsed
 * documents of a YAML file). Only what those bindings grant is allowed.
 */
export function rbacAuthorizer(manifests: readonly unknown[], subject: { namespace: string; name: string }): { user: string; authorize: Authorizer } {
  const docs = manifests.filter((m): m is Manifest => typeof m === "object" && m !== null);
  const roles = new Map<string, readonly PolicyRule[]>();
  for (const doc of docs) {
    if (doc.kind === "ClusterRole") roles.set(`ClusterRole//${doc.metadata?.name}`, doc.rules ?? []);
    if (doc.kind === "Role") roles.set(`Role/${doc.metadata?.namespace}/${doc.metadata?.name}`, doc.rules ?? []);
  }
  const grants: { namespace?: string; rules: readonly PolicyRule[] }[] = [];
  for (const doc of docs) {
    if (doc.kind !== "ClusterRoleBinding" && doc.kind !== "RoleBinding") continue;
    const bound = (doc.subjects ?? []).some((s) => s.kind === "ServiceAccount" && s.name === subject.name && s.namespace === subject.namespace);
    if (!bound || !doc.roleRef) continue;
    const bindingNs = doc.kind === "RoleBinding" ? doc.metadata?.namespace : undefined;
    const roleKey = doc.roleRef.kind === "ClusterRole" ? `ClusterRole//${doc.roleRef.name}` : `Role/${bindingNs}/${doc.roleRef.name}`;
    const rules = roles.get(roleKey);
    if (rules) grants.push({ ...(bindingNs !== undefined && { namespace: bindingNs }), rules });
  }
  return {
    user: `system:serviceaccount:${subject.namespace}:${subject.name}`,
    authorize: (a) => grants.some((g) => (g.namespace === undefined || g.namespace === a.namespace) && g.rules.some((r) => ruleAllows(r, a))),
  };
}

/** The apiserver's 403 wording. */
export function forbidden(a: RequestAttributes): StatusError {
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const what = a.name ? `${a.resource} "${a.name}"` : a.resource;
  const scope = a.namespace !== undefined ? `in the namespace "${a.namespace}"` : "at the cluster scope";
  return new StatusError(403, "Forbidden", `${what} is forbidden: User "${a.user}" cannot ${a.verb} resource "${resource}" in API group "${a.apiGroup}" ${scope}`, {
    ...(a.name !== undefined && { name: a.name }),
    kind: a.resource,
  });
}
