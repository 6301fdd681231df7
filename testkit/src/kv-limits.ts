/**
 * Cloudflare KV's limits, enforced on the KV bindings of a workerd test run:
 *
 * - a key is written at most once a second (KV refuses or throttles faster writes
 *   to one key: developers.cloudflare.com/kv/platform/limits/);
 * - `expirationTtl` is at least 60 s, and `expiration` at least 60 s ahead;
 * - a read's `cacheTtl` is at least 30 s.
 *
 * Local KV (Miniflare) accepts all of these, so code breaking them passes every
 * local test and fails in production. `enforceKvLimits()` patches the KV binding
 * class once per isolate — every binding, whichever `env` object the code under
 * test was handed (the runner's or the Worker's own under SELF) — and records
 * each breach. The code under test may swallow the error a breach throws (the
 * JWKS cache treats KV failures as misses), so the record is what a test suite
 * checks: `takeKvLimitBreaches()` after each test.
 *
 * No Node imports: this module runs inside workerd.
 */

export const KV_MIN_EXPIRATION_TTL_SECONDS = 60;
export const KV_MIN_CACHE_TTL_SECONDS = 30;
export const KV_MIN_WRITE_INTERVAL_MS = 1_000;

export interface KvLimitBreach {
  readonly key: string;
  readonly rule: "write-rate" | "expiration-ttl" | "expiration" | "cache-ttl";
  readonly detail: string;
}

type Put = (key: string, value: unknown, options?: { expirationTtl?: number; expiration?: number }) => Promise<void>;
type Get = (key: string, options?: unknown) => Promise<unknown>;

interface KvLimitState {
  readonly breaches: KvLimitBreach[];
  /** Per binding object: key → when it was last written. */
  lastWrite: WeakMap<object, Map<string, number>>;
}

const STATE = Symbol.for("jwt-registry-auth.kv-limits");

function state(): KvLimitState | undefined {
  return (globalThis as Record<symbol, KvLimitState | undefined>)[STATE];
}

/** The options object of a get, whichever form it was given in (`"json"` or `{ type, cacheTtl }`). */
function cacheTtlOf(options: unknown): number | undefined {
  if (typeof options !== "object" || options === null || !("cacheTtl" in options)) return undefined;
  const ttl = (options as { cacheTtl?: unknown }).cacheTtl;
  return typeof ttl === "number" ? ttl : undefined;
}

/**
 * The checks, over one binding's `put` and `get`: pure, so they can be tested
 * without workerd. `now` is epoch ms.
 */
export function checkPut(lastWrites: Map<string, number>, key: string, options: { expirationTtl?: number; expiration?: number } | undefined, now: number): KvLimitBreach[] {
  const breaches: KvLimitBreach[] = [];
  const last = lastWrites.get(key);
  if (last !== undefined && now - last < KV_MIN_WRITE_INTERVAL_MS) breaches.push({ key, rule: "write-rate", detail: `written again after ${now - last} ms (KV allows one write per key per second)` });
  lastWrites.set(key, now);
  if (options?.expirationTtl !== undefined && options.expirationTtl < KV_MIN_EXPIRATION_TTL_SECONDS) {
    breaches.push({ key, rule: "expiration-ttl", detail: `expirationTtl ${options.expirationTtl} s (KV's minimum is ${KV_MIN_EXPIRATION_TTL_SECONDS})` });
  }
  if (options?.expiration !== undefined && options.expiration * 1000 - now < KV_MIN_EXPIRATION_TTL_SECONDS * 1000) {
    breaches.push({ key, rule: "expiration", detail: `expiration ${options.expiration} is less than ${KV_MIN_EXPIRATION_TTL_SECONDS} s ahead` });
  }
  return breaches;
}

export function checkGet(key: string, options: unknown): KvLimitBreach[] {
  const ttl = cacheTtlOf(options);
  return ttl !== undefined && ttl < KV_MIN_CACHE_TTL_SECONDS ? [{ key, rule: "cache-ttl", detail: `cacheTtl ${ttl} s (KV's minimum is ${KV_MIN_CACHE_TTL_SECONDS})` }] : [];
}

/**
 * Patches the class of `binding` (any KV namespace binding of this isolate) so
 * every put and get is checked. Idempotent.
 */
export function enforceKvLimits(binding: object): void {
  if (state() !== undefined) return;
  const proto = Object.getPrototypeOf(binding) as { put: Put; get: Get };
  const put = proto.put;
  const get = proto.get;
  const limits: KvLimitState = { breaches: [], lastWrite: new WeakMap() };
  (globalThis as Record<symbol, KvLimitState>)[STATE] = limits;
  proto.put = function (this: object, key, value, options) {
    let writes = limits.lastWrite.get(this);
    if (writes === undefined) limits.lastWrite.set(this, (writes = new Map()));
    const breaches = checkPut(writes, key, options, Date.now());
    if (breaches.length > 0) {
      limits.breaches.push(...breaches);
      return Promise.reject(new Error(`KV limit: ${breaches.map((b) => `${b.key}: ${b.detail}`).join("; ")}`));
    }
    return put.call(this, key, value, options);
  };
  proto.get = function (this: object, key, options) {
    const breaches = checkGet(key, options);
    if (breaches.length > 0) {
      limits.breaches.push(...breaches);
      return Promise.reject(new Error(`KV limit: ${breaches.map((b) => `${b.key}: ${b.detail}`).join("; ")}`));
    }
    return get.call(this, key, options);
  };
}

/** Whether `enforceKvLimits` is active in this isolate. */
export function kvLimitsEnforced(): boolean {
  return state() !== undefined;
}

/** Every breach since the last call, and forgets them. */
export function takeKvLimitBreaches(): KvLimitBreach[] {
  const limits = state();
  if (limits === undefined) return [];
  return limits.breaches.splice(0, limits.breaches.length);
}

/** Forgets when each key was written (between tests: each test starts from fresh storage). */
export function resetKvWriteTimes(): void {
  const limits = state();
  if (limits !== undefined) limits.lastWrite = new WeakMap();
}
