/**
 * The controller: health/metrics endpoint, leader election, and — while
 * leading — reflectors for Namespaces and ServiceAccounts feeding a work queue
 * whose handler is the Reconciler. Each ServiceAccount is re-queued at its
 * next rotation time, on changes that matter to it, and on every resync.
 */
import type { KubeConfig, V1Namespace, V1ServiceAccount } from "@kubernetes/client-node";
import { Watch } from "@kubernetes/client-node";
import { REGISTRIES_ANNOTATION } from "./annotations.ts";
import { Backoff } from "./backoff.ts";
import type { ControllerConfig } from "./config.ts";
import { startHealthServer, type HealthServer } from "./health-server.ts";
import { KubeApiError, KubeClient } from "./kube-client.ts";
import { LeaderElector } from "./leader-election.ts";
import type { Logger } from "./logger.ts";
import { Metrics } from "./metrics.ts";
import { pullSecretName } from "./naming.ts";
import { namespaceInScope, optIn, type OptIn } from "./opt-in.ts";
import { Reconciler } from "./reconciler.ts";
import { objectKey, Reflector } from "./reflector.ts";
import { referencesSecret } from "./sa-refs.ts";
import { WorkQueue } from "./work-queue.ts";

export interface ControllerOptions {
  readonly config: ControllerConfig;
  readonly kubeConfig: KubeConfig;
  readonly log: Logger;
}

interface Work {
  readonly queue: WorkQueue;
  readonly namespaces: Reflector<V1Namespace>;
  /** One cluster-wide reflector, or one per namespace when a list is configured. */
  readonly serviceAccounts: readonly Reflector<V1ServiceAccount>[];
  resync?: NodeJS.Timeout;
}

const NOTHING: OptIn = { registries: [], unknown: [] };

export class Controller {
  readonly metrics = new Metrics();
  private readonly client: KubeClient;
  private readonly elector: LeaderElector | undefined;
  private readonly reconciler: Reconciler;
  private http: HealthServer | undefined;
  private work: Work | undefined;
  private synced = false;
  private shuttingDown = false;
  /** Leadership changes run one after another. */
  private transition: Promise<void> = Promise.resolve();
  private readonly rotations = new Map<string, number>();

  constructor(private readonly options: ControllerOptions) {
    const { config, log } = options;
    const election = config.leaderElection;
    this.client = new KubeClient(options.kubeConfig, () => !this.elector || this.elector.isLeader());
    this.elector = election.enabled
      ? new LeaderElector(this.client, election, { onStartedLeading: () => void this.changeLeadership(true), onStoppedLeading: () => this.changeLeadership(false) }, log)
      : undefined;
    this.reconciler = new Reconciler({ api: this.client, registries: config.registries, log, metrics: this.metrics });
    this.metrics.gaugeFunction("jwt_registry_auth_next_rotation_seconds", "Seconds until the next scheduled token rotation.", () => {
      if (this.rotations.size === 0) return undefined;
      return Math.max(0, (Math.min(...this.rotations.values()) - Date.now()) / 1000);
    });
    this.metrics.gaugeFunction("jwt_registry_auth_managed_service_accounts", "ServiceAccounts with at least one pull Secret kept current.", () => this.rotations.size);
    this.metrics.gaugeFunction("jwt_registry_auth_work_queue_depth", "ServiceAccounts waiting to be reconciled.", () => this.work?.queue.depth ?? 0);
  }

  get address(): { host: string; port: number } | undefined {
    return this.http?.address;
  }

  /** Caches synced (leader) or standing by with the Lease API reachable. */
  ready(): boolean {
    if (this.shuttingDown) return false;
    if (!this.elector) return this.synced;
    return this.elector.isLeader() ? this.synced : this.elector.reachedApi;
  }

  async start(): Promise<void> {
    this.http = await startHealthServer(this.options.config.listen, { healthy: () => !this.shuttingDown, ready: () => this.ready(), metrics: () => this.metrics.render() });
    if (this.elector) this.elector.start();
    else void this.changeLeadership(true);
  }

  /** Graceful shutdown: stop reconciling (waiting for reconciles in flight), release the Lease, close the endpoint. */
  async stop(): Promise<void> {
    this.shuttingDown = true;
    if (this.elector) await this.elector.stop();
    await this.changeLeadership(false);
    await this.http?.close();
  }

  /** Waits until every queued ServiceAccount has been handled once (for measurements and tests). */
  async idle(): Promise<void> {
    await this.transition;
    await this.work?.queue.idle();
  }

  /** Queues the start or stop of the work; the promise settles when that change is done. */
  private changeLeadership(leading: boolean): Promise<void> {
    this.transition = this.transition.then(() => (leading ? this.startWork() : this.stopWork())).catch((error: unknown) => {
      this.options.log.error("could not change leadership state", { error });
    });
    return this.transition;
  }

  private findServiceAccount(key: string): V1ServiceAccount | undefined {
    for (const reflector of this.work?.serviceAccounts ?? []) {
      const sa = reflector.get(key);
      if (sa) return sa;
    }
    return undefined;
  }

  private wanted(sa: V1ServiceAccount): OptIn {
    const { config } = this.options;
    const nsName = sa.metadata?.namespace ?? "";
    const ns = this.work?.namespaces.get(nsName);
    return namespaceInScope(config.namespaces, nsName, ns) ? optIn(sa, ns, config.registries) : NOTHING;
  }

  /** Whether a ServiceAccount update can change anything for us (our own patches come back as updates too). */
  private needsReconcile(previous: V1ServiceAccount, sa: V1ServiceAccount): boolean {
    if (previous.metadata?.uid !== sa.metadata?.uid) return true;
    if (previous.metadata?.annotations?.[REGISTRIES_ANNOTATION] !== sa.metadata?.annotations?.[REGISTRIES_ANNOTATION]) return true;
    const name = sa.metadata?.name as string;
    const wanted = this.wanted(sa).registries.map((r) => pullSecretName(name, r.host));
    const ours = this.options.config.registries.map((r) => pullSecretName(name, r.host));
    return wanted.some((n) => !referencesSecret(sa, n)) || ours.some((n) => !wanted.includes(n) && referencesSecret(sa, n));
  }

  private async startWork(): Promise<void> {
    if (this.shuttingDown || this.work) return;
    const { config, log } = this.options;
    const watch = new Watch(this.options.kubeConfig);
    const queue = new WorkQueue({
      workers: config.workers,
      backoff: new Backoff(),
      handle: (key) => this.handle(key),
      onError: (key, error, retryInMs) => {
        this.metrics.inc("jwt_registry_auth_reconciles_total", { result: "error" });
        const code = error instanceof KubeApiError ? String(error.code) : ((error as { code?: unknown }).code?.toString() ?? "unknown");
        this.metrics.inc("jwt_registry_auth_reconcile_errors_total", { code });
        log.warn("reconcile failed; will retry", { serviceAccount: key, error, retryInMs });
      },
    });
    const enqueueNamespace = (ns: V1Namespace): void => {
      for (const reflector of work.serviceAccounts) for (const sa of reflector.values()) if (sa.metadata?.namespace === ns.metadata?.name) queue.add(objectKey(sa));
    };
    const namespaces = new Reflector<V1Namespace>({
      name: "namespaces",
      path: "/api/v1/namespaces",
      list: (params) => this.client.listNamespaces(params),
      watch,
      log,
      ...(config.namespaces.kind === "selector" && { labelSelector: config.namespaces.selector }),
      handlers: {
        add: (ns) => enqueueNamespace(ns),
        update: (old, ns) => {
          if (old.metadata?.annotations?.[REGISTRIES_ANNOTATION] !== ns.metadata?.annotations?.[REGISTRIES_ANNOTATION]) enqueueNamespace(ns);
        },
        // Leaving a selector's scope: its ServiceAccounts are cleaned up.
        delete: (ns) => enqueueNamespace(ns),
      },
    });
    const saHandlers = {
      add: (sa: V1ServiceAccount) => queue.add(objectKey(sa)),
      update: (old: V1ServiceAccount, sa: V1ServiceAccount) => {
        if (this.needsReconcile(old, sa)) queue.add(objectKey(sa));
      },
      delete: (sa: V1ServiceAccount) => {
        // The garbage collector deletes its Secrets (owner reference).
        queue.forget(objectKey(sa));
        this.rotations.delete(objectKey(sa));
      },
    };
    const saReflector = (namespace?: string): Reflector<V1ServiceAccount> =>
      new Reflector<V1ServiceAccount>({
        name: namespace === undefined ? "serviceaccounts" : `serviceaccounts/${namespace}`,
        path: namespace === undefined ? "/api/v1/serviceaccounts" : `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts`,
        list: (params) => this.client.listServiceAccounts(namespace, params),
        watch,
        log,
        handlers: saHandlers,
      });
    const work: Work = {
      queue,
      namespaces,
      serviceAccounts: config.namespaces.kind === "list" ? config.namespaces.names.map((ns) => saReflector(ns)) : [saReflector()],
    };
    this.work = work;
    const started = Date.now();
    await namespaces.start();
    await Promise.all(work.serviceAccounts.map((r) => r.start()));
    if (this.work !== work) return;
    this.synced = true;
    queue.start();
    work.resync = setInterval(() => {
      for (const reflector of work.serviceAccounts) for (const sa of reflector.values()) queue.add(objectKey(sa));
    }, config.resyncMs);
    this.metrics.set("jwt_registry_auth_leader", 1);
    log.info("caches synced; reconciling", { namespaces: namespaces.size, serviceAccounts: work.serviceAccounts.reduce((n, r) => n + r.size, 0), ms: Date.now() - started });
  }

  private async stopWork(): Promise<void> {
    const work = this.work;
    if (!work) return;
    this.work = undefined;
    this.synced = false;
    clearInterval(work.resync);
    await Promise.all([work.namespaces.stop(), ...work.serviceAccounts.map((r) => r.stop())]);
    await work.queue.stop();
    this.rotations.clear();
    this.metrics.set("jwt_registry_auth_leader", 0);
    this.options.log.info("stopped reconciling");
  }

  private async handle(key: string): Promise<number | undefined> {
    const sa = this.findServiceAccount(key);
    if (!sa) {
      this.rotations.delete(key);
      return undefined;
    }
    const wanted = this.wanted(sa);
    if (wanted.unknown.length > 0) this.options.log.warn("serviceaccount names registries this controller does not serve", { serviceAccount: key, registries: wanted.unknown });
    const outcome = await this.reconciler.reconcile(sa, wanted.registries);
    this.metrics.inc("jwt_registry_auth_reconciles_total", { result: "success" });
    if (outcome.nextRotationAtMs === undefined) this.rotations.delete(key);
    else this.rotations.set(key, outcome.nextRotationAtMs);
    return outcome.nextRotationAtMs;
  }
}
