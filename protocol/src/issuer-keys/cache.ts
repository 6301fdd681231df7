/**
 * Issuer keys that come from the network, cached in isolate memory with an
 * optional store behind it (the token server's KV; nothing for the proxy). One
 * state machine for both Workers; every time in here is epoch milliseconds, and
 * every duration milliseconds.
 *
 * - keys are fresh until the `freshForMs` their fetch gave them;
 * - past that they are refetched; if the source fails, the old keys keep being
 *   served until they are `maxStaleMs` old (since fetch), then it fails closed;
 * - after a fetch attempt the source is not asked again for `cooldownMs`;
 * - an unknown `kid` (a rotated key) refetches at most once per cooldown, so a
 *   flood of random kids can't be turned into a flood of fetches;
 * - concurrent refreshes of one source in an isolate share one fetch; a caller
 *   that joins another's fetch waits at most `joinTimeoutMs` of its own;
 * - expected failures are results (`{ ok: false, detail }`), never throws.
 *
 * jose's createRemoteJWKSet has the cooldown and the shared fetch, but drops its
 * keys when a refresh fails (no stale-if-error), has no store, and reads the
 * body uncapped without the public-members check; so only its local JWKS is
 * used (key-selection.ts).
 */
import type { JWK } from "jose";
import type { Result } from "../result.ts";
import type { Parsed } from "./jwks.ts";
import { issuerKeySet, type IssuerKeySet } from "./key-selection.ts";

/** What one successful fetch of a source gives. */
export interface FetchedIssuerKeys {
  readonly keys: readonly JWK[];
  /** Where the keys were read (a `jwks_uri`), kept with them. */
  readonly origin: string;
  /** How long they count as fresh. */
  readonly freshForMs: number;
}

/** Keys as a store keeps them. */
export interface StoredIssuerKeys {
  readonly keys: readonly JWK[];
  readonly origin: string;
  /** Epoch ms of the successful fetch. */
  readonly fetchedAt: number;
  /** Epoch ms until which the keys are fresh. */
  readonly freshUntil: number;
}

/** A store behind isolate memory, for one source. Both methods never reject. */
export interface IssuerKeyStore {
  /** The stored keys, validated as strictly as fetched ones, or undefined. */
  read(): Promise<StoredIssuerKeys | undefined>;
  /** `keepMs`: how long the copy must outlive its fetch (freshness and the stale window). */
  write(stored: StoredIssuerKeys, keepMs: number): Promise<void>;
}

export interface RemoteIssuerKeySource {
  /** Identifies the source's state in isolate memory. */
  readonly id: string;
  /** Named in the detail of a caller that timed out waiting on another's fetch. */
  readonly label: string;
  fetch(): Promise<Parsed<FetchedIssuerKeys>>;
  readonly store?: IssuerKeyStore;
}

/** What one verification brings along. */
export interface IssuerKeyCall {
  readonly nowMs: number;
  /** The request's `waitUntil`: store writes then don't delay the response. */
  readonly waitUntil?: (promise: Promise<unknown>) => void;
}

export interface IssuerKeyCacheSettings {
  readonly maxStaleMs: number;
  readonly cooldownMs: number;
  readonly joinTimeoutMs: number;
  /** Sources remembered in isolate memory; beyond that the oldest is forgotten (it stays in the store). */
  readonly maxSources: number;
}

export type IssuerKeys = Result<IssuerKeySet>;

interface Entry {
  readonly stored: StoredIssuerKeys;
  readonly keySet: IssuerKeySet;
}

type Refresh = Result<Entry>;

interface SourceState {
  entry?: Entry;
  /** Epoch ms of the last fetch attempt, successful or not. */
  lastAttemptAt?: number;
  inflight?: Promise<Refresh>;
  /** What the last failed fetch said; cleared by a successful one. */
  lastFailure?: string;
}

/** Waits for a fetch another caller started, up to `ms` of this caller's own time. */
async function joinShared(shared: Promise<Refresh>, ms: number, label: string): Promise<Refresh> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const own = new Promise<Refresh>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, detail: `timed out after ${ms} ms waiting for the fetch from ${label} under way` }), ms);
  });
  try {
    return await Promise.race([shared, own]);
  } finally {
    clearTimeout(timer);
  }
}

const entryOf = (stored: StoredIssuerKeys): Entry => ({ stored, keySet: issuerKeySet(stored.keys) });

export class IssuerKeyCache {
  private readonly states = new Map<string, SourceState>();

  constructor(readonly settings: IssuerKeyCacheSettings) {}

  /** Forgets everything held in isolate memory (stores are untouched). */
  clear(): void {
    this.states.clear();
  }

  /** The source's current keys: fresh if possible, stale within bounds if the source fails. */
  async keysFor(source: RemoteIssuerKeySource, call: IssuerKeyCall): Promise<IssuerKeys> {
    const state = this.stateFor(source.id);
    if (state.entry !== undefined && call.nowMs < state.entry.stored.freshUntil) return { ok: true, value: state.entry.keySet };

    if (source.store !== undefined) {
      const stored = await source.store.read();
      if (stored !== undefined && (state.entry === undefined || stored.fetchedAt > state.entry.stored.fetchedAt)) state.entry = entryOf(stored);
      if (state.entry !== undefined && call.nowMs < state.entry.stored.freshUntil) return { ok: true, value: state.entry.keySet };
    }

    if (state.inflight === undefined && this.withinCooldown(state.lastAttemptAt, call.nowMs)) return this.staleOrUnavailable(state, call.nowMs, state.lastFailure);
    // Another caller is refetching: keys within the stale bound serve meanwhile rather than waiting on it.
    if (state.inflight !== undefined && this.hasUsableStale(state, call.nowMs)) return this.staleOrUnavailable(state, call.nowMs);
    const refreshed = await this.refresh(source, state, call);
    return refreshed.ok ? { ok: true, value: refreshed.value.keySet } : this.staleOrUnavailable(state, call.nowMs, refreshed.detail);
  }

  /**
   * Called when no key matches the token's `kid`: refetches if the keys are older
   * than the cooldown and no attempt was made within it, or joins a refetch
   * already under way. Undefined when the keys held are fresh and no newer keys
   * can be had now: the kid is then really unknown. When the refetch fails, or
   * the keys held are stale because the source is failing, the kid may be a
   * rotated key we can't see: the source is unavailable, not the token bad.
   */
  async keysAfterUnknownKid(source: RemoteIssuerKeySource, call: IssuerKeyCall): Promise<IssuerKeys | undefined> {
    const state = this.stateFor(source.id);
    const failed = (why: string): IssuerKeys => ({ ok: false, detail: `no key matches the token's kid and the issuer's keys could not be refetched: ${why}` });
    if (state.inflight === undefined) {
      if (state.entry !== undefined && this.withinCooldown(state.entry.stored.fetchedAt, call.nowMs)) return undefined;
      if (this.withinCooldown(state.lastAttemptAt, call.nowMs)) {
        if (state.entry !== undefined && call.nowMs < state.entry.stored.freshUntil) return undefined;
        return failed(state.lastFailure ?? "retry after the cooldown");
      }
    }
    const refreshed = await this.refresh(source, state, call);
    return refreshed.ok ? { ok: true, value: refreshed.value.keySet } : failed(refreshed.detail);
  }

  private withinCooldown(since: number | undefined, nowMs: number): boolean {
    return since !== undefined && nowMs - since < this.settings.cooldownMs;
  }

  private hasUsableStale(state: SourceState, nowMs: number): boolean {
    return state.entry !== undefined && nowMs - state.entry.stored.fetchedAt <= this.settings.maxStaleMs;
  }

  private staleOrUnavailable(state: SourceState, nowMs: number, failure?: string): IssuerKeys {
    if (state.entry !== undefined && this.hasUsableStale(state, nowMs)) return { ok: true, value: state.entry.keySet };
    const why = state.entry === undefined ? "issuer keys could not be fetched" : "issuer is failing and its cached keys are too old";
    return { ok: false, detail: failure === undefined ? why : `${why}: ${failure}` };
  }

  private stateFor(id: string): SourceState {
    let state = this.states.get(id);
    if (state === undefined) {
      state = {};
      this.states.set(id, state);
      // Maps iterate in insertion order: the first key is the longest remembered.
      if (this.states.size > this.settings.maxSources) this.states.delete(this.states.keys().next().value as string);
    }
    return state;
  }

  /**
   * Not async on purpose: the in-flight promise is registered before anything
   * awaits, so concurrent callers coalesce. A caller that joins another
   * caller's fetch waits alongside a timer of its own: workerd cancels a
   * request as hung when all it waits on is another request's I/O.
   */
  private refresh(source: RemoteIssuerKeySource, state: SourceState, call: IssuerKeyCall): Promise<Refresh> {
    if (state.inflight !== undefined) return joinShared(state.inflight, this.settings.joinTimeoutMs, source.label);
    state.lastAttemptAt = call.nowMs;
    const inflight = this.fetchAndStore(source, state, call).finally(() => {
      state.inflight = undefined;
    });
    state.inflight = inflight;
    return inflight;
  }

  private async fetchAndStore(source: RemoteIssuerKeySource, state: SourceState, call: IssuerKeyCall): Promise<Refresh> {
    let fetched: Parsed<FetchedIssuerKeys>;
    try {
      fetched = await source.fetch();
    } catch {
      // A source's fetch reports its failures as results; a throw is a bug there, and still no keys.
      fetched = { ok: false, detail: "the keys could not be loaded" };
    }
    if (!fetched.ok) {
      state.lastFailure = fetched.detail;
      return fetched;
    }
    delete state.lastFailure;
    const { keys, origin, freshForMs } = fetched.value;
    const entry = entryOf({ keys, origin, fetchedAt: call.nowMs, freshUntil: call.nowMs + freshForMs });
    state.entry = entry;
    if (source.store !== undefined) {
      const write = source.store.write(entry.stored, Math.max(freshForMs, this.settings.maxStaleMs));
      if (call.waitUntil !== undefined) call.waitUntil(write);
      else await write;
    }
    return { ok: true, value: entry };
  }
}
