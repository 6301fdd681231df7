/**
 * Issuer keys for discovery providers: OIDC discovery → `jwks_uri` → JWKS,
 * through the shared issuer-key cache (`@jwt-registry-auth/protocol/issuer-keys`)
 * with KV (`JWKS_CACHE`) as its store, so a token request normally costs no
 * fetch at all. The schema of the KV entries is in docs/storage-schema.md.
 *
 * What this file adds to the shared cache, each a knob in {@link JWKS_CACHE_DEFAULTS}:
 * - keys are fresh for the issuer's `Cache-Control: max-age`, clamped;
 * - the issuer, discovery and `jwks_uri` URLs obey the issuer-URL rule;
 * - whatever could not get the issuer's keys says which fetch failed and how
 *   (`discovery <url>: timed out after 5000 ms`, `jwks_uri <url>: HTTP 503`),
 *   in its detail and in a `jwks_fetch_failed` log line.
 * Knobs are named with their unit; the cache itself counts milliseconds.
 */
import type { JWK } from "jose";
import { checkIssuerUrl } from "@jwt-registry-auth/protocol/issuer-url";
import {
  fetchJsonBounded,
  IssuerKeyCache,
  MAX_ISSUER_RESPONSE_BYTES,
  MAX_JWKS_KEYS,
  parseJwks,
  type FetchedIssuerKeys,
  type FetchLimits,
  type IssuerKeySet,
  type IssuerKeyStore,
  type Parsed,
  type RemoteIssuerKeySource,
  type StoredIssuerKeys,
} from "@jwt-registry-auth/protocol/issuer-keys";
import { sha256Hex, type Result } from "@jwt-registry-auth/protocol";
import { freshLifetimeSeconds } from "./cache-control.ts";
import { parseDiscovery } from "./discovery-document.ts";

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
  /** Per response, the same cap as the proxy's. */
  maxResponseBytes: MAX_ISSUER_RESPONSE_BYTES,
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

export type IssuerKeys = Result<IssuerKeySet, { readonly reason: "issuer_not_allowed" | "issuer_unavailable"; readonly detail: string }>;

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
function parseStored(value: unknown, source: DiscoverySource, maxKeys: number): StoredIssuerKeys | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (v["v"] !== 1 || v["issuer"] !== source.issuer || v["discoveryUrl"] !== discoveryDocumentUrl(source.discoveryUrl)) return undefined;
  if (typeof v["jwksUri"] !== "string" || !isFiniteNumber(v["fetchedAt"]) || !isFiniteNumber(v["freshUntil"])) return undefined;
  const keys = parseJwks({ keys: v["keys"] }, maxKeys);
  if (!keys.ok) return undefined;
  return { keys: keys.value, origin: v["jwksUri"], fetchedAt: v["fetchedAt"], freshUntil: v["freshUntil"] };
}

/** The shared cache's store for one issuer: its KV entry. Reads and writes never fail a verification. */
function kvStore(kv: KVNamespace, kvKey: string, source: DiscoverySource, maxKeys: number): IssuerKeyStore {
  return {
    async read() {
      try {
        return parseStored(await kv.get(kvKey, "json"), source, maxKeys);
      } catch {
        // Unreadable or unparsable KV is a cache miss, never a verification failure.
        return undefined;
      }
    },
    async write(stored, keepMs) {
      const doc: StoredJwks = { v: 1, issuer: source.issuer, discoveryUrl: discoveryDocumentUrl(source.discoveryUrl), jwksUri: stored.origin, keys: stored.keys, fetchedAt: stored.fetchedAt, freshUntil: stored.freshUntil };
      // The copy outlives freshness so other isolates can serve it stale; KV refuses TTLs under 60 s.
      const expirationTtl = Math.ceil(Math.max(60, keepMs / 1000));
      try {
        await kv.put(kvKey, JSON.stringify(doc), { expirationTtl });
      } catch (error) {
        console.warn(JSON.stringify({ event: "jwks_kv_write_failed", issuer: source.issuer, detail: String(error) }));
      }
    },
  };
}

/** A source's derived values, kept beside it. */
interface Prepared {
  readonly discoveryUrl: string;
  readonly kvKey: string;
  /** The issuer-URL verdict for each value of ALLOW_HTTP_LOOPBACK_ISSUERS seen. */
  readonly refused: Map<boolean, IssuerKeys | undefined>;
  /** The shared cache's view of the source, for the KV binding and setting it was built with. */
  remote?: { readonly kv: KVNamespace; readonly allowHttpLoopback: boolean; readonly source: RemoteIssuerKeySource };
}

export class JwksCache {
  readonly settings: JwksCacheSettings;
  private readonly fetchFn: typeof fetch;
  private readonly cache: IssuerKeyCache;
  private readonly prepared = new WeakMap<DiscoverySource, Prepared>();

  constructor(options: JwksCacheOptions = {}) {
    const { fetch: fetchFn, ...overrides } = options;
    this.settings = { ...JWKS_CACHE_DEFAULTS, ...overrides };
    // Wrapped: workerd's fetch must not be called detached from the global scope.
    this.fetchFn = fetchFn ?? ((input, init) => fetch(input, init));
    this.cache = new IssuerKeyCache({
      maxStaleMs: this.settings.maxStaleSeconds * 1000,
      cooldownMs: this.settings.refetchCooldownSeconds * 1000,
      joinTimeoutMs: this.settings.fetchTimeoutMs,
      maxSources: this.settings.maxIssuersInMemory,
    });
  }

  /** Forgets everything held in isolate memory (KV is untouched). */
  clear(): void {
    this.cache.clear();
  }

  /** The issuer's current keys: fresh if possible, stale within bounds if the issuer fails. */
  async keysFor(source: DiscoverySource, call: CacheCall): Promise<IssuerKeys> {
    const prepared = await this.prepare(source);
    const refused = this.refusedUrl(source, prepared, call.allowHttpLoopback);
    if (refused !== undefined) return refused;
    const keys = await this.cache.keysFor(this.remoteSource(source, prepared, call), call);
    return keys.ok ? keys : { ok: false, reason: "issuer_unavailable", detail: keys.detail };
  }

  /** See {@link IssuerKeyCache.keysAfterUnknownKid}: undefined when the kid is really unknown. */
  async keysAfterUnknownKid(source: DiscoverySource, call: CacheCall): Promise<IssuerKeys | undefined> {
    const keys = await this.cache.keysAfterUnknownKid(this.remoteSource(source, await this.prepare(source), call), call);
    return keys === undefined || keys.ok ? keys : { ok: false, reason: "issuer_unavailable", detail: keys.detail };
  }

  /** What a source needs on every call, worked out once per source object (a compiled provider keeps its own). */
  private async prepare(source: DiscoverySource): Promise<Prepared> {
    let prepared = this.prepared.get(source);
    if (prepared === undefined) {
      prepared = { discoveryUrl: discoveryDocumentUrl(source.discoveryUrl), kvKey: await jwksKvKey(source), refused: new Map() };
      this.prepared.set(source, prepared);
    }
    return prepared;
  }

  private refusedUrl(source: DiscoverySource, prepared: Prepared, allowHttpLoopback: boolean): IssuerKeys | undefined {
    if (prepared.refused.has(allowHttpLoopback)) return prepared.refused.get(allowHttpLoopback);
    let refused: IssuerKeys | undefined;
    for (const url of [source.issuer, prepared.discoveryUrl]) {
      const check = checkIssuerUrl(url, allowHttpLoopback);
      if (!check.ok) {
        refused = { ok: false, reason: "issuer_not_allowed", detail: `issuer URL refused: ${check.detail}` };
        break;
      }
    }
    prepared.refused.set(allowHttpLoopback, refused);
    return refused;
  }

  private remoteSource(source: DiscoverySource, prepared: Prepared, call: CacheCall): RemoteIssuerKeySource {
    const held = prepared.remote;
    if (held !== undefined && held.kv === call.kv && held.allowHttpLoopback === call.allowHttpLoopback) return held.source;
    const { kvKey, discoveryUrl } = prepared;
    const remote: RemoteIssuerKeySource = {
      id: kvKey,
      label: discoveryUrl,
      fetch: () => this.fetchKeys(source, discoveryUrl, call.allowHttpLoopback),
      store: kvStore(call.kv, kvKey, source, this.settings.maxKeys),
    };
    prepared.remote = { kv: call.kv, allowHttpLoopback: call.allowHttpLoopback, source: remote };
    return remote;
  }

  /** Discovery, then the JWKS it names; a failure names the fetch, its URL and how it failed. */
  private async fetchKeys(source: DiscoverySource, discoveryUrl: string, allowHttpLoopback: boolean): Promise<Parsed<FetchedIssuerKeys>> {
    const limits: FetchLimits = { timeoutMs: this.settings.fetchTimeoutMs, maxBytes: this.settings.maxResponseBytes };
    const failed = (fetch: "discovery" | "jwks_uri", url: string, detail: string): Parsed<FetchedIssuerKeys> => {
      console.warn(JSON.stringify({ event: "jwks_fetch_failed", issuer: source.issuer, fetch, url, detail }));
      return { ok: false, detail: `${fetch} ${url}: ${detail}` };
    };
    const discoveryResponse = await fetchJsonBounded(this.fetchFn, discoveryUrl, limits);
    if (!discoveryResponse.ok) return failed("discovery", discoveryUrl, discoveryResponse.detail);
    const discovery = parseDiscovery(discoveryResponse.value.body, source.issuer);
    if (!discovery.ok) return failed("discovery", discoveryUrl, discovery.detail);
    const { jwksUri } = discovery.value;
    const jwksUriCheck = checkIssuerUrl(jwksUri, allowHttpLoopback);
    if (!jwksUriCheck.ok) return failed("jwks_uri", jwksUri, `refused: ${jwksUriCheck.detail}`);
    const jwksResponse = await fetchJsonBounded(this.fetchFn, jwksUri, limits);
    if (!jwksResponse.ok) return failed("jwks_uri", jwksUri, jwksResponse.detail);
    const jwks = parseJwks(jwksResponse.value.body, this.settings.maxKeys);
    if (!jwks.ok) return failed("jwks_uri", jwksUri, jwks.detail);
    const freshSeconds = freshLifetimeSeconds(jwksResponse.value.cacheControl, {
      minSeconds: this.settings.minFreshSeconds,
      maxSeconds: this.settings.maxFreshSeconds,
      defaultSeconds: this.settings.defaultFreshSeconds,
    });
    return { ok: true, value: { keys: jwks.value, origin: jwksUri, freshForMs: freshSeconds * 1000 } };
  }
}
