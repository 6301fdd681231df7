/**
 * Leader election on a coordination.k8s.io/v1 Lease, with client-go's rules:
 * a candidate takes the Lease only when its holder has not renewed it for a
 * whole lease duration as observed on the candidate's own clock (so clock
 * skew between replicas doesn't matter); the leader renews every retry
 * period and steps down if it could not renew within the renew deadline,
 * which is shorter than the lease duration — so it has stopped writing
 * before anyone else may start. Every write is a compare-and-swap on the
 * Lease's resourceVersion. On shutdown the Lease is released at once.
 */
import type { V1Lease, V1LeaseSpec } from "@kubernetes/client-node";
import { V1MicroTime } from "@kubernetes/client-node";
import { sleep } from "./backoff.ts";
import type { LeaderElectionConfig } from "./config.ts";
import type { LeaseApi } from "./kube-client.ts";
import type { Logger } from "./logger.ts";

export interface LeaderCallbacks {
  onStartedLeading(): void;
  /** On shutdown, awaited while the Lease is still held, so work in flight can finish its writes. */
  onStoppedLeading(): void | Promise<void>;
}

export class LeaderElector {
  private leading = false;
  /** Local time at which the last successful renewal was sent. */
  private renewedAt = 0;
  private observed: { record: string; at: number } | undefined;
  private stopped = false;
  private readonly stopSignal = new AbortController();
  private loop: Promise<void> | undefined;
  /** Whether the Lease API has answered at least once (for readiness). */
  reachedApi = false;

  constructor(
    private readonly api: LeaseApi,
    private readonly config: LeaderElectionConfig,
    private readonly callbacks: LeaderCallbacks,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** True only while a renewal sent less than the renew deadline ago succeeded. */
  isLeader(): boolean {
    return this.leading && this.now() - this.renewedAt < this.config.renewDeadlineMs;
  }

  start(): void {
    this.loop = this.run();
  }

  /** Stops campaigning; a leader steps down and releases the Lease so a standby takes over without waiting. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopSignal.abort();
    await this.loop;
    if (this.leading) {
      await this.callbacks.onStoppedLeading();
      this.leading = false;
      await this.release();
    }
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const attemptAt = this.now();
      const ok = await this.tryAcquireOrRenew(attemptAt);
      if (this.stopped) break;
      if (ok) {
        this.renewedAt = attemptAt;
        if (!this.leading) {
          this.leading = true;
          this.log.info("became leader", { lease: `${this.config.namespace}/${this.config.name}`, identity: this.config.identity });
          this.callbacks.onStartedLeading();
        }
      } else if (this.leading && this.now() - this.renewedAt >= this.config.renewDeadlineMs) {
        this.leading = false;
        this.log.warn("lost leadership: could not renew the Lease within the renew deadline", { identity: this.config.identity });
        void this.callbacks.onStoppedLeading();
      }
      // Candidates jitter their retries (client-go's JitterFactor 1.2); the leader renews on the period.
      const wait = this.leading ? this.config.retryPeriodMs : this.config.retryPeriodMs * (1 + Math.random() * 1.2);
      await sleep(wait, this.stopSignal.signal);
    }
  }

  private spec(attemptAt: number, previous: V1LeaseSpec | undefined, transition: boolean): V1LeaseSpec {
    const now = new V1MicroTime(attemptAt);
    return {
      holderIdentity: this.config.identity,
      leaseDurationSeconds: Math.ceil(this.config.leaseDurationMs / 1000),
      acquireTime: transition || !previous?.acquireTime ? now : previous.acquireTime,
      renewTime: now,
      leaseTransitions: (previous?.leaseTransitions ?? 0) + (transition && previous !== undefined ? 1 : 0),
    };
  }

  private async tryAcquireOrRenew(attemptAt: number): Promise<boolean> {
    const { namespace, name, identity } = this.config;
    try {
      const lease = await this.api.getLease(namespace, name);
      this.reachedApi = true;
      if (!lease) {
        await this.api.createLease(namespace, { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name, namespace }, spec: this.spec(attemptAt, undefined, true) });
        return true;
      }
      const spec = lease.spec ?? {};
      const record = JSON.stringify([spec.holderIdentity, String(spec.renewTime ?? ""), spec.leaseDurationSeconds]);
      if (this.observed?.record !== record) this.observed = { record, at: this.now() };
      const holder = spec.holderIdentity ?? "";
      const durationMs = (spec.leaseDurationSeconds ?? 0) * 1000;
      if (holder !== "" && holder !== identity && this.now() < this.observed.at + durationMs) return false;
      const next: V1Lease = { ...lease, spec: this.spec(attemptAt, spec, holder !== identity) };
      await this.api.replaceLease(namespace, name, next);
      return true;
    } catch (error) {
      this.log.debug("lease acquire/renew failed", { error });
      return false;
    }
  }

  private async release(): Promise<void> {
    const { namespace, name, identity } = this.config;
    try {
      const lease = await this.api.getLease(namespace, name);
      if (lease?.spec?.holderIdentity !== identity) return;
      const now = new V1MicroTime(this.now());
      // client-go's release: no holder, a 1 s duration, transitions kept.
      await this.api.replaceLease(namespace, name, { ...lease, spec: { ...lease.spec, holderIdentity: undefined, leaseDurationSeconds: 1, acquireTime: now, renewTime: now } });
      this.log.info("released the leader Lease", { identity });
    } catch (error) {
      this.log.warn("could not release the leader Lease", { error });
    }
  }
}
