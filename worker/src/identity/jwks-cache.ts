/**
 * Issuer keys for discovery providers: OIDC discovery → `jwks_uri` → JWKS,
 * cached in isolate memory in front of KV (`JWKS_CACHE`), so a token request
 * normally costs no fetch at all. The schema of the KV entries is in
 * docs/storage-schema.md.
 *
 * Rules, each a knob in {@link JWKS_CACHE_DEFAULTS}:
 * - keys are fresh for the issuer's `Cache-Control: max-age`, clamped;
 * - past that they are refetched; if the issuer fails, the old keys keep being
 *   served until they reach the maximum stale age, then verification fails closed;
 * - after a failed fetch the issuer is not asked again for a cooldown;
 * - an unknown `kid` (a rotated key) refetches at most once per cooldown, so a
 *   flood of random kids can't be turned into a flood of requests to the issuer;
 * - concurrent refreshes of one issuer in an isolate share one fetch;
 * - whatever could not get the issuer's keys says which fetch failed and how
 *   (`discovery <url>: timed out after 5000 ms`, `jwks_uri <url>: HTTP 503`),
 *   in its detail and in a `jwks_fetch_failed` log line.
 * Times are epoch milliseconds inside this module; knobs are named with their unit.
 */
import type { JWK } from "jose";
import { fetchJsonBounded, type FetchLimits } from "./bounded-fetch.ts";
import { freshLifetimeSeconds } from "./cache-control.ts";
import { checkIssuerUrl } from "@jwt-registry-auth/protocol/issuer-url";
import { MAX_JWKS_KEYS, parseDiscovery, parseJwks } from "./jwks-document.ts";
import { keySetOf, type KeySet } from "./key-set.ts";
import { sha256Hex } from "@jwt-registry-auth/protocol";

export const JWKS_CACHE_DEFAULTS = {
  /** Lower clamp on the issuer's max-age; also KV's minimum `expirationTtl`. */
  minFreshSeconds: 60,
  /** Upper clamp: a key the issuer drops is no longer trusted after a day at most. */
  maxFreshSeconds: 24 * 60 * 60,
  /** Freshness when the issuer sends no max-age. */
  defaultFreshSeconds: 5 * 60,
  /** How old (since fetch) keys may get while the issuer is failing; older → fail closed. */
  maxStaleSeconds: 24 * 60 * 60,
  /** Minimum spacing of refetches for an unknown `kid`, and of retries after a failure. */
  refetchCooldownSeconds: 30,
  /** Per request (discovery, then JWKS), body included. */
  fetchTimeoutMs: 5_000,
  /** Per response; real JWKS are a few KB (Entra's, with x5c chains, ~20 KB). */
  maxResponseBytes: 256 * 1024,
  maxKeys: MAX_JWKS_KEYS,
  /** Issuers remembered in isolate memory; beyond that the oldest is forgotten (it stays in KV). */
  maxIssuersInMemory: 256,
} as const;

export type JwksCacheSettings = { readonly [K in keyof typeof JWKS_CACHE_DEFAULTS]: number };

export interface JwksCacheOptions extends Partial<JwksCacheSettings> {
  /** Injected for unit tests; defaults to the global fetch. */
  readonly fetch?: typeof fetch;
}

/** Where a discovery provider's keys come from. */
export interface DiscoverySource {
  /** The configured issuer: discovery's `issuer` must equal it exactly. */
  readonly issuer: string;
  /** The issuer base URL, or the full `…/.well-known/openid-configuration` URL. */
  readonly discoveryUrl: string;
}

/** What one verification brings along: bindings, settings and its clock. */
export interface CacheCall {
  readonly kv: KVNamespace;
  readonly allowHttpLoopback: boolean;
  readonly waitUntil?: (promise: Promise<unknown>) => void;
  readonly nowMs: number;
}

export type IssuerKeys =
  | { readonly ok: true; readonly keySet: KeySet }
  | { readonly ok: false; readonly reason: "issuer_not_allowed" | "issuer_unavailable"; readonly detail: string };

/** The KV value (docs/storage-schema.md). */
export interface StoredJwks {
  readonly v: 1;
  readonly issuer: string;
  readonly discoveryUrl: string;
  readonly jwksUri: string;
  readonly keys: readonly JWK[];
  /** Epoch ms of the successful fetch. */
  readonly fetchedAt: number;
  /** Epoch ms until which the keys are fresh (fetchedAt + clamped max-age). */
  readonly freshUntil: number;
}

interface Entry {
  readonly doc: StoredJwks;
  readonly keySet: KeySet;
}

type Refresh = { readonly ok: true; readonly entry: Entry } | { readonly ok: false; readonly detail: string };

/** Which fetch of an issuer failed, for logs and rejection details. */
interface FetchFailure {
  readonly ok: false;
  readonly fetch: "discovery" | "jwks_uri";
  readonly url: string;
  readonly detail: string;
}

type FetchedKeys = { readonly ok: true; readonly jwksUri: string; readonly keys: JWK[]; readonly cacheControl: string | null } | FetchFailure;

const unavailable = (detail: string): IssuerKeys => ({ ok: false, reason: "issuer_unavailable", detail });

interface IssuerState {
  entry?: Entry;
  /** Epoch ms of the last fetch attempt, successful or not. */
  lastAttemptAt?: number;
  inflight?: Promise<Refresh>;
  /** What the last failed fetch said; cleared by a successful one. */
  lastFailure?: string;
}

const WELL_KNOWN = "/.well-known/openid-configuration";

/** The discovery document's URL: the PoC configured the issuer base URL, others give the full URL. */
export function discoveryDocumentUrl(discoveryUrl: string): string {
  return discoveryUrl.endsWith(WELL_KNOWN) ? discoveryUrl : `${discoveryUrl.replace(/\/+$/, "")}${WELL_KNOWN}`;
}

const kvKeys = new Map<string, string>();
const MAX_REMEMBERED_KV_KEYS = 256;

/**
 * KV key of a source; hashed because issuer URLs may exceed KV's 512-byte key
 * limit. Remembered per isolate: hashing on every request was ~18% of verify.
 */
export async function jwksKvKey(source: DiscoverySource): Promise<string> {
  const id = `${source.issuer}\n${discoveryDocumentUrl(source.discoveryUrl)}`;
  let key = kvKeys.get(id);
  if (key === undefined) {
    key = `jwks:v1:${await sha256Hex(id)}`;
    if (kvKeys.size >= MAX_REMEMBERED_KV_KEYS) kvKeys.clear();
    kvKeys.set(id, key);
  }
  return key;
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

/** Re-validates what KV holds: KV is ours, but a stored entry must never be trusted more than a fetched one. */
function parseStored(value: unknown, source: DiscoverySource, maxKeys: number): StoredJwks | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (v["v"] !== 1 || v["issuer"] !== source.issuer || v["discoveryUrl"] !== discoveryDocumentUrl(source.discoveryUrl)) return undefined;
  if (typeof v["jwksUri"] !== "string" || !isFiniteNumber(v["fetchedAt"]) || !isFiniteNumber(v["freshUntil"])) return undefined;
  const keys = parseJwks({ keys: v["keys"] }, maxKeys);
  if (!keys.ok) return undefined;
  return { v: 1, issuer: source.issuer, discoveryUrl: v["discoveryUrl"], jwksUri: v["jwksUri"], keys: keys.value, fetchedAt: v["fetchedAt"], freshUntil: v["freshUntil"] };
}

/** Waits for a fetch another request started, up to `ms` of this request's own time. */
async function joinShared(shared: Promise<Refresh>, ms: number, discoveryUrl: string): Promise<Refresh> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const own = new Promise<Refresh>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, detail: `timed out after ${ms} ms waiting for the fetch from ${discoveryUrl} under way` }), ms);
  });
  try {
    return await Promise.race([shared, own]);
  } finally {
    clearTimeout(timer);
  }
}

export class JwksCache {
  readonly settings: JwksCacheSettings;
  private readonly fetchFn: typeof fetch;
  private readonly states = new Map<string, IssuerState>();

  constructor(options: JwksCacheOptions = {}) {
    const { fetch: fetchFn, ...overrides } = options;
    this.settings = { ...JWKS_CACHE_DEFAULTS, ...overrides };
    // Wrapped: workerd's fetch must not be called detached from the global scope.
    this.fetchFn = fetchFn ?? ((input, init) => fetch(input, init));
  }

  /** Forgets everything held in isolate memory (KV is untouched). */
  clear(): void {
    this.states.clear();
  }

  /** The issuer's current keys: fresh if possible, stale within bounds if the issuer fails. */
  async keysFor(source: DiscoverySource, call: CacheCall): Promise<IssuerKeys> {
    const refused = this.refusedUrl(source, call.allowHttpLoopback);
    if (refused !== undefined) return refused;
    const kvKey = await jwksKvKey(source);
    const state = this.stateFor(kvKey);
    if (state.entry !== undefined && call.nowMs < state.entry.doc.freshUntil) return { ok: true, keySet: state.entry.keySet };

    const stored = await this.readKv(call.kv, kvKey, source);
    if (stored !== undefined && (state.entry === undefined || stored.fetchedAt > state.entry.doc.fetchedAt)) {
      state.entry = { doc: stored, keySet: keySetOf(stored.keys) };
    }
    if (state.entry !== undefined && call.nowMs < state.entry.doc.freshUntil) return { ok: true, keySet: state.entry.keySet };

    if (state.inflight === undefined && this.withinCooldown(state.lastAttemptAt, call.nowMs)) return this.staleOrUnavailable(state, call.nowMs, state.lastFailure);
    // Another request is refetching: keys within the stale bound serve meanwhile rather than waiting on it.
    if (state.inflight !== undefined && this.hasUsableStale(state, call.nowMs)) return this.staleOrUnavailable(state, call.nowMs);
    const refreshed = await this.refresh(source, kvKey, state, call);
    return refreshed.ok ? { ok: true, keySet: refreshed.entry.keySet } : this.staleOrUnavailable(state, call.nowMs, refreshed.detail);
  }

  /**
   * Called when no key matches the token's `kid`: refetches if the keys are older
   * than the cooldown and no attempt was made within it, or joins a refetch
   * already under way. Undefined when the keys held are fresh and no newer keys
   * can be had now: the kid is then really unknown. When the refetch fails, or
   * the keys held are stale because the issuer is failing, the kid may be a
   * rotated key we can't see: the issuer is unavailable, not the token bad.
   */
  async keysAfterUnknownKid(source: DiscoverySource, call: CacheCall): Promise<IssuerKeys | undefined> {
    const kvKey = await jwksKvKey(source);
    const state = this.stateFor(kvKey);
    if (state.inflight === undefined) {
      if (state.entry !== undefined && this.withinCooldown(state.entry.doc.fetchedAt, call.nowMs)) return undefined;
      if (this.withinCooldown(state.lastAttemptAt, call.nowMs)) {
        if (state.entry !== undefined && call.nowMs < state.entry.doc.freshUntil) return undefined;
        return unavailable(`no key matches the token's kid and the issuer's keys could not be refetched: ${state.lastFailure ?? "retry after the cooldown"}`);
      }
    }
    const refreshed = await this.refresh(source, kvKey, state, call);
    if (refreshed.ok) return { ok: true, keySet: refreshed.entry.keySet };
    return unavailable(`no key matches the token's kid and the issuer's keys could not be refetched: ${refreshed.detail}`);
  }

  private refusedUrl(source: DiscoverySource, allowHttpLoopback: boolean): IssuerKeys | undefined {
    for (const url of [source.issuer, discoveryDocumentUrl(source.discoveryUrl)]) {
      const check = checkIssuerUrl(url, allowHttpLoopback);
      if (!check.ok) return { ok: false, reason: "issuer_not_allowed", detail: `issuer URL refused: ${check.detail}` };
    }
    return undefined;
  }

  private withinCooldown(since: number | undefined, nowMs: number): boolean {
    return since !== undefined && nowMs - since < this.settings.refetchCooldownSeconds * 1000;
  }

  private hasUsableStale(state: IssuerState, nowMs: number): boolean {
    return state.entry !== undefined && nowMs - state.entry.doc.fetchedAt <= this.settings.maxStaleSeconds * 1000;
  }

  private staleOrUnavailable(state: IssuerState, nowMs: number, failure?: string): IssuerKeys {
    if (this.hasUsableStale(state, nowMs) && state.entry !== undefined) {
      return { ok: true, keySet: state.entry.keySet };
    }
    const why = state.entry === undefined ? "issuer keys could not be fetched" : "issuer is failing and its cached keys are too old";
    return unavailable(failure === undefined ? why : `${why}: ${failure}`);
  }

  private stateFor(kvKey: string): IssuerState {
    let state = this.states.get(kvKey);
    if (state === undefined) {
      state = {};
      this.states.set(kvKey, state);
      // Maps iterate in insertion order: the first key is the longest remembered.
      if (this.states.size > this.settings.maxIssuersInMemory) this.states.delete(this.states.keys().next().value as string);
    }
    return state;
  }

  /**
   * Not async on purpose: the in-flight promise is registered before anything
   * awaits, so concurrent callers coalesce. A caller that joins another
   * request's fetch waits alongside a timer of its own: workerd cancels a
   * request as hung when all it waits on is another request's I/O.
   */
  private refresh(source: DiscoverySource, kvKey: string, state: IssuerState, call: CacheCall): Promise<Refresh> {
    if (state.inflight !== undefined) return joinShared(state.inflight, this.settings.fetchTimeoutMs, discoveryDocumentUrl(source.discoveryUrl));
    state.lastAttemptAt = call.nowMs;
    const inflight = this.fetchAndStore(source, kvKey, state, call).finally(() => {
      state.inflight = undefined;
    });
    state.inflight = inflight;
    return inflight;
  }

  private async fetchAndStore(source: DiscoverySource, kvKey: string, state: IssuerState, call: CacheCall): Promise<Refresh> {
    const limits: FetchLimits = { timeoutMs: this.settings.fetchTimeoutMs, maxBytes: this.settings.maxResponseBytes };
    const discoveryUrl = discoveryDocumentUrl(source.discoveryUrl);
    const fetched = await this.fetchKeys(source, discoveryUrl, limits, call.allowHttpLoopback);
    if (!fetched.ok) {
      const detail = `${fetched.fetch} ${fetched.url}: ${fetched.detail}`;
      state.lastFailure = detail;
      console.warn(JSON.stringify({ event: "jwks_fetch_failed", issuer: source.issuer, fetch: fetched.fetch, url: fetched.url, detail: fetched.detail }));
      return { ok: false, detail };
    }
    delete state.lastFailure;
    const freshSeconds = freshLifetimeSeconds(fetched.cacheControl, {
      minSeconds: this.settings.minFreshSeconds,
      maxSeconds: this.settings.maxFreshSeconds,
      defaultSeconds: this.settings.defaultFreshSeconds,
    });
    const doc: StoredJwks = {
      v: 1,
      issuer: source.issuer,
      discoveryUrl,
      jwksUri: fetched.jwksUri,
      keys: fetched.keys,
      fetchedAt: call.nowMs,
      freshUntil: call.nowMs + freshSeconds * 1000,
    };
    const entry: Entry = { doc, keySet: keySetOf(doc.keys) };
    state.entry = entry;
    const write = this.writeKv(call.kv, kvKey, doc, freshSeconds);
    if (call.waitUntil !== undefined) call.waitUntil(write);
    else await write;
    return { ok: true, entry };
  }

  private async fetchKeys(source: DiscoverySource, discoveryUrl: string, limits: FetchLimits, allowHttpLoopback: boolean): Promise<FetchedKeys> {
    const failed = (fetch: FetchFailure["fetch"], url: string, detail: string): FetchFailure => ({ ok: false, fetch, url, detail });
    const discoveryResponse = await fetchJsonBounded(this.fetchFn, discoveryUrl, limits);
    if (!discoveryResponse.ok) return failed("discovery", discoveryUrl, discoveryResponse.detail);
    const discovery = parseDiscovery(discoveryResponse.body, source.issuer);
    if (!discovery.ok) return failed("discovery", discoveryUrl, discovery.detail);
    const { jwksUri } = discovery.value;
    const jwksUriCheck = checkIssuerUrl(jwksUri, allowHttpLoopback);
    if (!jwksUriCheck.ok) return failed("jwks_uri", jwksUri, `refused: ${jwksUriCheck.detail}`);
    const jwksResponse = await fetchJsonBounded(this.fetchFn, jwksUri, limits);
    if (!jwksResponse.ok) return failed("jwks_uri", jwksUri, jwksResponse.detail);
    const jwks = parseJwks(jwksResponse.body, this.settings.maxKeys);
    if (!jwks.ok) return failed("jwks_uri", jwksUri, jwks.detail);
    return { ok: true, jwksUri, keys: jwks.value, cacheControl: jwksResponse.cacheControl };
  }

  private async readKv(kv: KVNamespace, kvKey: string, source: DiscoverySource): Promise<StoredJwks | undefined> {
    try {
      return parseStored(await kv.get(kvKey, "json"), source, this.settings.maxKeys);
    } catch {
      // Unreadable or unparsable KV is a cache miss, never a verification failure.
      return undefined;
    }
  }

  /** Never rejects: a failed KV write only costs another isolate a fetch. */
  private async writeKv(kv: KVNamespace, kvKey: string, doc: StoredJwks, freshSeconds: number): Promise<void> {
    // The copy outlives freshness so other isolates can serve it stale; KV refuses TTLs under 60 s.
    const expirationTtl = Math.ceil(Math.max(60, freshSeconds, this.settings.maxStaleSeconds));
    try {
      await kv.put(kvKey, JSON.stringify(doc), { expirationTtl });
    } catch (error) {
      console.warn(JSON.stringify({ event: "jwks_kv_write_failed", issuer: doc.issuer, detail: String(error) }));
    }
  }
}
