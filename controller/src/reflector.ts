/**
 * List-then-watch, kept up: a paged list fills the cache and gives the
 * resourceVersion to watch from; the watch (with bookmarks, so a quiet
 * resource still advances it) resumes from the last version it saw whenever
 * the connection ends; a 410 Gone — as an HTTP status or an ERROR event —
 * means that version was compacted away and forces a fresh list, diffed
 * against the cache so no change is lost. Other failures back off
 * exponentially.
 */
import type { KubernetesObject, Watch } from "@kubernetes/client-node";
import { Backoff, sleep } from "./backoff.ts";
import type { ListPage, ListParams } from "./kube-client.ts";
import type { Logger } from "./logger.ts";

export interface ReflectorHandlers<T> {
  add(obj: T): void;
  update(previous: T, obj: T): void;
  delete(obj: T): void;
}

export interface ReflectorOptions<T extends KubernetesObject> {
  /** For logs, e.g. "serviceaccounts". */
  readonly name: string;
  /** The collection's URL path, e.g. `/api/v1/serviceaccounts`. */
  readonly path: string;
  readonly list: (params: ListParams) => Promise<ListPage<T>>;
  readonly watch: Pick<Watch, "watch">;
  readonly labelSelector?: string;
  readonly handlers: ReflectorHandlers<T>;
  readonly log: Logger;
  readonly pageSize?: number;
  readonly backoff?: Backoff;
}

export const objectKey = (obj: KubernetesObject): string => (obj.metadata?.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : (obj.metadata?.name ?? ""));

interface WatchStatus {
  readonly code?: number;
  readonly reason?: string;
  readonly message?: string;
}

class WatchError extends Error {
  constructor(
    readonly code: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

const isGone = (error: unknown): boolean => {
  const e = error as { code?: unknown; statusCode?: unknown };
  return e?.code === 410 || e?.statusCode === 410;
};

export class Reflector<T extends KubernetesObject> {
  private readonly cache = new Map<string, T>();
  private resourceVersion = "";
  private stopped = false;
  private abortWatch: AbortController | undefined;
  private readonly stopSignal = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly backoff: Backoff;
  /** How many times the collection was listed (1 + relists after 410 or errors). */
  lists = 0;

  constructor(private readonly options: ReflectorOptions<T>) {
    this.backoff = options.backoff ?? new Backoff({ baseMs: 500, maxMs: 30_000 });
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  values(): IterableIterator<T> {
    return this.cache.values();
  }

  get size(): number {
    return this.cache.size;
  }

  /** Resolves once the first list has filled the cache; watching goes on until stop(). */
  start(): Promise<void> {
    return new Promise((resolve) => {
      this.loop = this.run(resolve);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopSignal.abort();
    this.abortWatch?.abort();
    await this.loop;
  }

  private async run(synced: () => void): Promise<void> {
    while (!this.stopped) {
      try {
        if (this.resourceVersion === "") {
          await this.relist();
          synced();
        }
        const outcome = await this.watchOnce();
        if (outcome === "expired") this.resourceVersion = "";
        if (outcome === "idle") await sleep(this.backoff.next("watch"), this.stopSignal.signal);
        else this.backoff.reset("watch");
      } catch (error) {
        if (this.stopped) break;
        if (isGone(error)) {
          this.options.log.info("watch resourceVersion expired; listing again", { resource: this.options.name });
          this.resourceVersion = "";
          continue;
        }
        const delay = this.backoff.next("watch");
        this.options.log.warn("list/watch failed; retrying", { resource: this.options.name, error, retryInMs: delay });
        await sleep(delay, this.stopSignal.signal);
      }
    }
  }

  private async relist(): Promise<void> {
    const fresh = new Map<string, T>();
    let continueToken: string | undefined;
    let resourceVersion = "";
    do {
      const page = await this.options.list({
        limit: this.options.pageSize ?? 500,
        ...(continueToken !== undefined && { continueToken }),
        ...(this.options.labelSelector !== undefined && { labelSelector: this.options.labelSelector }),
      });
      if (resourceVersion === "") resourceVersion = page.resourceVersion;
      for (const item of page.items) fresh.set(objectKey(item), item);
      continueToken = page.continueToken;
    } while (continueToken !== undefined && !this.stopped);
    if (this.stopped) return;
    this.lists++;
    const { handlers } = this.options;
    for (const [key, old] of this.cache) if (!fresh.has(key)) {
      this.cache.delete(key);
      handlers.delete(old);
    }
    for (const [key, obj] of fresh) {
      const old = this.cache.get(key);
      this.cache.set(key, obj);
      if (!old) handlers.add(obj);
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) handlers.update(old, obj);
    }
    this.resourceVersion = resourceVersion;
  }

  private apply(type: string, obj: T): void {
    const key = objectKey(obj);
    const old = this.cache.get(key);
    if (type === "DELETED") {
      this.cache.delete(key);
      if (old) this.options.handlers.delete(obj);
    } else {
      this.cache.set(key, obj);
      if (old) this.options.handlers.update(old, obj);
      else this.options.handlers.add(obj);
    }
  }

  /** One watch connection: "closed" when it ended normally, "idle" when it ended at once without news, "expired" on 410. */
  private watchOnce(): Promise<"closed" | "idle" | "expired"> {
    const started = Date.now();
    let events = 0;
    let expired = false;
    let failure: WatchError | undefined;
    return new Promise((resolve, reject) => {
      const done = (error: unknown): void => {
        this.abortWatch = undefined;
        if (this.stopped || expired) return resolve(expired ? "expired" : "closed");
        if (failure) return reject(failure);
        if (error) return reject(error instanceof Error ? error : new Error(String(error)));
        resolve(events === 0 && Date.now() - started < 1000 ? "idle" : "closed");
      };
      const onEvent = (type: string, obj: T & WatchStatus): void => {
        if (this.stopped) return;
        events++;
        if (type === "ERROR") {
          if (obj.code === 410) expired = true;
          else failure = new WatchError(obj.code, `watch ERROR event: ${obj.message ?? obj.reason ?? "unknown"}`);
          this.abortWatch?.abort();
          return;
        }
        const rv = obj.metadata?.resourceVersion;
        if (rv) this.resourceVersion = rv;
        if (type === "ADDED" || type === "MODIFIED" || type === "DELETED") this.apply(type, obj);
      };
      this.options.watch
        .watch(
          this.options.path,
          {
            resourceVersion: this.resourceVersion,
            allowWatchBookmarks: true,
            // Spread reconnects, as client-go does (5–10 min).
            timeoutSeconds: 300 + Math.floor(Math.random() * 300),
            ...(this.options.labelSelector !== undefined && { labelSelector: this.options.labelSelector }),
          },
          onEvent,
          done,
        )
        .then((abort) => {
          this.abortWatch = abort;
          if (this.stopped || expired || failure) abort.abort();
        }, reject);
    });
  }
}
