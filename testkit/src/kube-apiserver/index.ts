export { startKubeApiServer, type KubeApiServer, type KubeApiServerOptions, type RequestRecord, type FailureMatch } from "./server.ts";
export { rbacAuthorizer, allowAll, type Authorizer, type PolicyRule, type RequestAttributes } from "./rbac.ts";
export { NAMESPACES, SERVICE_ACCOUNTS, SECRETS, LEASES, type KubeObject, type ObjectMeta, type OwnerReference, type ResourceType } from "./resources.ts";
export { ObjectStore, type WatchEvent } from "./store.ts";
export { StatusError } from "./status.ts";
export { DEFAULT_API_AUDIENCE } from "./token-request.ts";
export { applyJsonPatch, applyMergePatch } from "./patch.ts";
