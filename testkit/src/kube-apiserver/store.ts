/**
 * The stand-in's etcd: objects keyed by resource/namespace/name, one global
 * resourceVersion counter, an event history for resuming watches (with
 * compaction, so an old resourceVersion gets 410 Gone), and the garbage
 * collector's cascade on owner references.
 */
import { randomUUID } from "node:crypto";
import { alreadyExists, badRequest, conflict, invalid, notFound, StatusError } from "./status.ts";
import { apiVersionOf, metadataErrors, NAMESPACES, RESOURCE_TYPES, SERVICE_ACCOUNTS, type KubeObject, type ResourceType } from "./resources.ts";

export type EventType = "ADDED" | "MODIFIED" | "DELETED";

interface HistoryEvent {
  readonly rv: number;
  readonly type: EventType;
  readonly resource: ResourceType;
  readonly object: KubeObject;
  readonly previous?: KubeObject;
}

export interface WatchEvent {
  readonly type: EventType;
  readonly object: KubeObject;
}

export interface WatchFilter {
  readonly namespace?: string;
  readonly matches: (obj: KubeObject) => boolean;
}

interface Watcher {
  readonly resource: ResourceType;
  readonly filter: WatchFilter;
  readonly send: (event: WatchEvent) => void;
}

export interface StoreOptions {
  /** Events kept for watch resumption; older resourceVersions get 410. */
  readonly historyLimit?: number;
  /** Emulates the ServiceAccounts controller: each new namespace gets a `default` ServiceAccount. */
  readonly defaultServiceAccounts?: boolean;
}

export interface Preconditions {
  readonly uid?: string;
  readonly resourceVersion?: string;
}

const keyOf = (namespace: string | undefined, name: string): string => `${namespace ?? ""}/${name}`;
const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, "Z");

export class ObjectStore {
  private rv = 1000;
  private compactedRv = 1000;
  private readonly objects = new Map<ResourceType, Map<string, KubeObject>>(RESOURCE_TYPES.map((t) => [t, new Map()]));
  private history: HistoryEvent[] = [];
  private readonly watchers = new Set<Watcher>();
  private readonly historyLimit: number;
  private readonly defaultServiceAccounts: boolean;

  constructor(options: StoreOptions = {}) {
    this.historyLimit = options.historyLimit ?? 100_000;
    this.defaultServiceAccounts = options.defaultServiceAccounts ?? true;
  }

  get resourceVersion(): string {
    return String(this.rv);
  }

  private bucket(type: ResourceType): Map<string, KubeObject> {
    const bucket = this.objects.get(type);
    if (!bucket) throw new Error(`unknown resource ${type.resource}`);
    return bucket;
  }

  private record(type: EventType, resource: ResourceType, object: KubeObject, previous?: KubeObject): void {
    const event: HistoryEvent = { rv: this.rv, type, resource, object, ...(previous && { previous }) };
    this.history.push(event);
    if (this.history.length > this.historyLimit) {
      const dropped = this.history.splice(0, this.history.length - this.historyLimit);
      this.compactedRv = (dropped[dropped.length - 1] as HistoryEvent).rv;
    }
    for (const watcher of this.watchers) {
      if (watcher.resource === resource) {
        const out = translate(event, watcher.filter);
        if (out) watcher.send(out);
      }
    }
  }

  /** Drops the whole event history, as etcd compaction does: watches from any older resourceVersion now get 410. */
  compact(): void {
    this.history = [];
    this.compactedRv = this.rv;
  }

  get(type: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const obj = this.bucket(type).get(keyOf(namespace, name));
    if (!obj) throw notFound(type.resource, type.group, name);
    return structuredClone(obj);
  }

  find(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const obj = this.bucket(type).get(keyOf(namespace, name));
    return obj && structuredClone(obj);
  }

  /** Objects sorted by namespace/name (the order etcd's key range gives). */
  list(type: ResourceType, filter: WatchFilter): KubeObject[] {
    return [...this.bucket(type).entries()]
      .filter(([, obj]) => (filter.namespace === undefined || obj.metadata.namespace === filter.namespace) && filter.matches(obj))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, obj]) => structuredClone(obj));
  }

  private checkNamespace(type: ResourceType, namespace: string | undefined): void {
    if (!type.namespaced) return;
    if (namespace === undefined) throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
    if (!this.bucket(NAMESPACES).has(keyOf(undefined, namespace))) throw notFound("namespaces", "", namespace);
  }

  private validate(type: ResourceType, obj: KubeObject): void {
    type.prepare?.(obj);
    const errors = [...metadataErrors(type, obj), ...(type.validate?.(obj) ?? [])];
    if (errors.length > 0) throw invalid(type.kind, type.group, String(obj.metadata.name ?? ""), errors);
  }

  create(type: ResourceType, namespace: string | undefined, body: KubeObject): KubeObject {
    this.checkNamespace(type, namespace);
    const obj = structuredClone(body);
    obj.metadata = { ...(obj.metadata ?? {}) };
    if (type.namespaced) {
      if (obj.metadata.namespace !== undefined && obj.metadata.namespace !== namespace) throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
      obj.metadata.namespace = namespace as string;
    } else delete obj.metadata.namespace;
    this.validate(type, obj);
    const key = keyOf(namespace, obj.metadata.name);
    if (this.bucket(type).has(key)) throw alreadyExists(type.resource, type.group, obj.metadata.name);
    this.rv++;
    obj.apiVersion = apiVersionOf(type);
    obj.kind = type.kind;
    obj.metadata.uid = randomUUID();
    obj.metadata.resourceVersion = String(this.rv);
    obj.metadata.creationTimestamp = now();
    this.bucket(type).set(key, obj);
    this.record("ADDED", type, structuredClone(obj));
    if (type === NAMESPACES && this.defaultServiceAccounts) {
      this.create(SERVICE_ACCOUNTS, obj.metadata.name, { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default" } as KubeObject["metadata"] });
    }
    return structuredClone(obj);
  }

  /**
   * PUT semantics: a stale `metadata.resourceVersion` is a 409 Conflict; an
   * absent one is an unconditional update (allowed for these types).
   */
  update(type: ResourceType, namespace: string | undefined, name: string, body: KubeObject): KubeObject {
    const key = keyOf(namespace, name);
    const current = this.bucket(type).get(key);
    if (!current) throw notFound(type.resource, type.group, name);
    const obj = structuredClone(body);
    obj.metadata = { ...(obj.metadata ?? {}) };
    if (obj.metadata.name !== undefined && obj.metadata.name !== name) throw badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
    const requested = obj.metadata.resourceVersion;
    if (requested !== undefined && requested !== "" && requested !== current.metadata.resourceVersion) throw conflict(type.resource, type.group, name);
    if (obj.metadata.uid !== undefined && obj.metadata.uid !== current.metadata.uid) {
      throw new StatusError(409, "Conflict", `Precondition failed: UID in precondition: ${obj.metadata.uid}, UID in object meta: ${current.metadata.uid}`);
    }
    obj.metadata.name = name;
    if (type.namespaced) obj.metadata.namespace = namespace as string;
    this.validate(type, obj);
    this.rv++;
    obj.apiVersion = apiVersionOf(type);
    obj.kind = type.kind;
    obj.metadata.uid = current.metadata.uid;
    obj.metadata.creationTimestamp = current.metadata.creationTimestamp;
    obj.metadata.resourceVersion = String(this.rv);
    this.bucket(type).set(key, obj);
    this.record("MODIFIED", type, structuredClone(obj), current);
    return structuredClone(obj);
  }

  delete(type: ResourceType, namespace: string | undefined, name: string, preconditions: Preconditions = {}): KubeObject {
    const key = keyOf(namespace, name);
    const current = this.bucket(type).get(key);
    if (!current) throw notFound(type.resource, type.group, name);
    if (preconditions.uid !== undefined && preconditions.uid !== current.metadata.uid) {
      throw new StatusError(409, "Conflict", `Precondition failed: UID in precondition: ${preconditions.uid}, UID in object meta: ${current.metadata.uid}`, { name, kind: type.resource });
    }
    if (preconditions.resourceVersion !== undefined && preconditions.resourceVersion !== current.metadata.resourceVersion) {
      throw new StatusError(
        409,
        "Conflict",
        `Precondition failed: ResourceVersion in precondition: ${preconditions.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`,
        { name, kind: type.resource },
      );
    }
    if (type === NAMESPACES) {
      // The namespace controller empties a terminating namespace before it goes.
      for (const other of RESOURCE_TYPES) {
        if (!other.namespaced) continue;
        for (const obj of this.list(other, { namespace: name, matches: () => true })) this.delete(other, name, obj.metadata.name);
      }
    }
    this.bucket(type).delete(key);
    this.rv++;
    const gone = structuredClone(current);
    gone.metadata.resourceVersion = String(this.rv);
    this.record("DELETED", type, gone);
    this.collectDependents(current);
    return structuredClone(current);
  }

  /**
   * The garbage collector with background propagation: a dependent none of
   * whose owners exist any more is deleted; one that still has a live owner
   * only loses the dangling reference.
   */
  private collectDependents(owner: KubeObject): void {
    const uid = owner.metadata.uid;
    for (const type of RESOURCE_TYPES) {
      for (const obj of [...this.bucket(type).values()]) {
        const refs = obj.metadata.ownerReferences ?? [];
        if (!refs.some((r) => r.uid === uid)) continue;
        if (owner.metadata.namespace !== undefined && obj.metadata.namespace !== owner.metadata.namespace) continue;
        const live = refs.filter((r) => r.uid !== uid && this.ownerExists(r.uid));
        if (live.length === 0) this.delete(type, obj.metadata.namespace, obj.metadata.name);
        else this.update(type, obj.metadata.namespace, obj.metadata.name, { ...obj, metadata: { ...obj.metadata, ownerReferences: live, resourceVersion: "" } });
      }
    }
  }

  private ownerExists(uid: string): boolean {
    for (const bucket of this.objects.values()) for (const obj of bucket.values()) if (obj.metadata.uid === uid) return true;
    return false;
  }

  /**
   * Starts a watch. `fromRv` undefined, "" or "0": synthetic ADDED events for
   * the current state, then live events; a number: the events after it, or a
   * 410 StatusError when that point was compacted away.
   */
  watch(type: ResourceType, filter: WatchFilter, fromRv: string | undefined, send: (event: WatchEvent) => void): () => void {
    if (fromRv === undefined || fromRv === "" || fromRv === "0") {
      for (const obj of this.list(type, filter)) send({ type: "ADDED", object: obj });
    } else {
      const from = Number(fromRv);
      if (!Number.isSafeInteger(from)) throw badRequest(`invalid resource version: ${fromRv}`);
      if (from < this.compactedRv) throw new StatusError(410, "Expired", `too old resource version: ${from} (${this.compactedRv + 1})`);
      for (const event of this.history) {
        if (event.rv <= from || event.resource !== type) continue;
        const out = translate(event, filter);
        if (out) send({ type: out.type, object: structuredClone(out.object) });
      }
    }
    const watcher: Watcher = { resource: type, filter, send };
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }
}

/** What a filtered watch sees of an event: objects moving in or out of the selection appear as ADDED / DELETED, as in the apiserver's watch cache. */
function translate(event: HistoryEvent, filter: WatchFilter): WatchEvent | undefined {
  const inScope = (obj: KubeObject | undefined): boolean =>
    obj !== undefined && (filter.namespace === undefined || obj.metadata.namespace === filter.namespace) && filter.matches(obj);
  if (event.type !== "MODIFIED") return inScope(event.object) ? { type: event.type, object: event.object } : undefined;
  const was = inScope(event.previous);
  const is = inScope(event.object);
  if (was && is) return { type: "MODIFIED", object: event.object };
  if (is) return { type: "ADDED", object: event.object };
  if (was) return { type: "DELETED", object: event.object };
  return undefined;
}
