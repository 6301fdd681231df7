/**
 * The only module that talks to the Kubernetes API: typed calls over
 * @kubernetes/client-node, 404 turned into `undefined`, every other failure
 * into a KubeApiError carrying the HTTP code and the apiserver's reason and
 * message. Writes pass a guard first, so a replica that is not (or no
 * longer) the leader cannot write.
 */
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Lease,
  type V1Namespace,
  type V1NamespaceList,
  type V1Secret,
  type V1ServiceAccount,
  type V1ServiceAccountList,
} from "@kubernetes/client-node";
import { keepAliveApiClient } from "./keep-alive.ts";

export class KubeApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** A write was attempted while this replica does not hold the leader Lease. */
export class NotLeaderError extends Error {
  readonly code = "NotLeader";
  constructor() {
    super("not the leader: write refused");
  }
}

function statusOf(error: unknown): KubeApiError | undefined {
  if (!(error instanceof ApiException)) return undefined;
  let body: unknown = error.body;
  if (typeof body === "string") {
    try {
      body = JSON.parse(body);
    } catch {
      // A non-JSON body (a proxy's error page): the code is what we have.
    }
  }
  const status = (typeof body === "object" && body !== null ? body : {}) as { reason?: unknown; message?: unknown };
  const reason = typeof status.reason === "string" ? status.reason : "Unknown";
  const message = typeof status.message === "string" ? status.message : `HTTP ${error.code}`;
  return new KubeApiError(error.code, reason, message);
}

async function call<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw statusOf(error) ?? error;
  }
}

async function orUndefined<T>(run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call(run);
  } catch (error) {
    if (error instanceof KubeApiError && error.code === 404) return undefined;
    throw error;
  }
}

export interface IssuedToken {
  readonly token: string;
  readonly expiresAtMs: number;
}

export interface ListPage<T> {
  readonly items: T[];
  readonly resourceVersion: string;
  readonly continueToken?: string;
}

export interface ListParams {
  readonly limit: number;
  readonly continueToken?: string;
  readonly labelSelector?: string;
}

/** What the reconciler needs; the unit tests implement it in memory. */
export interface ClusterApi {
  getSecret(namespace: string, name: string): Promise<V1Secret | undefined>;
  createSecret(namespace: string, secret: V1Secret): Promise<V1Secret>;
  replaceSecret(namespace: string, name: string, secret: V1Secret): Promise<V1Secret>;
  /** Deletes only the object with this uid and resourceVersion; gone already is fine. */
  deleteSecret(namespace: string, name: string, preconditions: { uid: string; resourceVersion: string }): Promise<void>;
  requestToken(namespace: string, serviceAccount: string, audiences: readonly string[], expirationSeconds: number): Promise<IssuedToken>;
  getServiceAccount(namespace: string, name: string): Promise<V1ServiceAccount | undefined>;
  /** JSON merge patch. */
  patchServiceAccount(namespace: string, name: string, patch: Record<string, unknown>): Promise<V1ServiceAccount>;
}

export interface LeaseApi {
  getLease(namespace: string, name: string): Promise<V1Lease | undefined>;
  createLease(namespace: string, lease: V1Lease): Promise<V1Lease>;
  replaceLease(namespace: string, name: string, lease: V1Lease): Promise<V1Lease>;
}

export interface ListApi {
  listServiceAccounts(namespace: string | undefined, params: ListParams): Promise<ListPage<V1ServiceAccount>>;
  listNamespaces(params: ListParams): Promise<ListPage<V1Namespace>>;
}

const page = <T>(list: V1ServiceAccountList | V1NamespaceList): ListPage<T> => ({
  items: list.items as T[],
  resourceVersion: list.metadata?.resourceVersion ?? "",
  ...(list.metadata?._continue && { continueToken: list.metadata._continue }),
});

const listArgs = (params: ListParams) => ({
  limit: params.limit,
  ...(params.continueToken !== undefined && { _continue: params.continueToken }),
  ...(params.labelSelector !== undefined && { labelSelector: params.labelSelector }),
});

export class KubeClient implements ClusterApi, LeaseApi, ListApi {
  private readonly core: CoreV1Api;
  private readonly coordination: CoordinationV1Api;

  /** `canWrite` is consulted before every write except to the Lease itself. */
  constructor(
    kubeConfig: KubeConfig,
    private readonly canWrite: () => boolean = () => true,
  ) {
    this.core = keepAliveApiClient(kubeConfig, CoreV1Api);
    this.coordination = keepAliveApiClient(kubeConfig, CoordinationV1Api);
  }

  private guard(): void {
    if (!this.canWrite()) throw new NotLeaderError();
  }

  getSecret(namespace: string, name: string): Promise<V1Secret | undefined> {
    return orUndefined(() => this.core.readNamespacedSecret({ namespace, name }));
  }

  createSecret(namespace: string, secret: V1Secret): Promise<V1Secret> {
    this.guard();
    return call(() => this.core.createNamespacedSecret({ namespace, body: secret }));
  }

  replaceSecret(namespace: string, name: string, secret: V1Secret): Promise<V1Secret> {
    this.guard();
    return call(() => this.core.replaceNamespacedSecret({ namespace, name, body: secret }));
  }

  async deleteSecret(namespace: string, name: string, preconditions: { uid: string; resourceVersion: string }): Promise<void> {
    this.guard();
    await orUndefined(() => this.core.deleteNamespacedSecret({ namespace, name, body: { preconditions } }));
  }

  async requestToken(namespace: string, serviceAccount: string, audiences: readonly string[], expirationSeconds: number): Promise<IssuedToken> {
    this.guard();
    const response = await call(() =>
      this.core.createNamespacedServiceAccountToken({
        namespace,
        name: serviceAccount,
        body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { audiences: [...audiences], expirationSeconds } },
      }),
    );
    const token = response.status?.token;
    const expiresAtMs = new Date(response.status?.expirationTimestamp ?? NaN).getTime();
    if (!token || !Number.isFinite(expiresAtMs)) throw new KubeApiError(500, "InvalidResponse", "TokenRequest answered without a token or expirationTimestamp");
    return { token, expiresAtMs };
  }

  getServiceAccount(namespace: string, name: string): Promise<V1ServiceAccount | undefined> {
    return orUndefined(() => this.core.readNamespacedServiceAccount({ namespace, name }));
  }

  patchServiceAccount(namespace: string, name: string, patch: Record<string, unknown>): Promise<V1ServiceAccount> {
    this.guard();
    return call(() => this.core.patchNamespacedServiceAccount({ namespace, name, body: patch }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch)));
  }

  getLease(namespace: string, name: string): Promise<V1Lease | undefined> {
    return orUndefined(() => this.coordination.readNamespacedLease({ namespace, name }));
  }

  createLease(namespace: string, lease: V1Lease): Promise<V1Lease> {
    return call(() => this.coordination.createNamespacedLease({ namespace, body: lease }));
  }

  replaceLease(namespace: string, name: string, lease: V1Lease): Promise<V1Lease> {
    return call(() => this.coordination.replaceNamespacedLease({ namespace, name, body: lease }));
  }

  async listServiceAccounts(namespace: string | undefined, params: ListParams): Promise<ListPage<V1ServiceAccount>> {
    const list = await call(() =>
      namespace === undefined ? this.core.listServiceAccountForAllNamespaces(listArgs(params)) : this.core.listNamespacedServiceAccount({ namespace, ...listArgs(params) }),
    );
    return page(list);
  }

  async listNamespaces(params: ListParams): Promise<ListPage<V1Namespace>> {
    return page(await call(() => this.core.listNamespace(listArgs(params))));
  }
}
