/**
 * Registry-token verification keys, through the shared issuer-key module
 * (`@jwt-registry-auth/protocol/issuer-keys`), held in isolate memory with no
 * store behind it. Keys come from the token server (through a service binding
 * or a JWKS URL: one bounded fetch, body capped, refreshed when they grow old
 * and early for an unknown `kid`, at most once per cooldown, concurrent misses
 * sharing one fetch, old keys served while the source fails) or are configured
 * inline (a JWKS, or PEM certificates / public keys, read once). Either way the
 * token server's rules apply: public members only, at most 100 keys.
 */
import type { JSONWebKeySet, JWTVerifyGetKey } from "jose";
import {
  fetchJsonBounded,
  IssuerKeyCache,
  issuerKeySet,
  jwksFromPems,
  MAX_ISSUER_RESPONSE_BYTES,
  parseJwks,
  parseJwksJson,
  selectIssuerKey,
  type FetchedIssuerKeys,
  type IssuerKeySet,
  type Parsed,
  type RemoteIssuerKeySource,
} from "@jwt-registry-auth/protocol/issuer-keys";

export type KeySource =
  | { readonly kind: "jwks"; readonly jwks: string }
  | { readonly kind: "pem"; readonly pem: string }
  | { readonly kind: "url"; readonly url: string }
  | { readonly kind: "binding"; readonly fetcher: Fetcher };

/** Keys could not be obtained at all: the proxy's problem, not the client's token. */
export class KeySourceError extends Error {
  override readonly name = "KeySourceError";
}

export interface KeyCacheOptions {
  /** How long fetched keys are used before a refresh (ms). */
  readonly maxAgeMs: number;
  /** If a refresh fails, keys this old (ms) are still used. */
  readonly staleMaxMs: number;
  /** Minimum gap between fetches after a failure or for an unknown `kid` (ms). */
  readonly cooldownMs: number;
  readonly timeoutMs: number;
  readonly now: () => number;
}

export const DEFAULT_KEY_CACHE_OPTIONS: KeyCacheOptions = {
  maxAgeMs: 10 * 60_000,
  staleMaxMs: 24 * 3_600_000,
  cooldownMs: 30_000,
  timeoutMs: 5_000,
  now: () => Date.now(),
};

/** What the binding serves: the token server's JWKS route. A service binding ignores the host. */
const BINDING_JWKS_URL = "https://token-server/.well-known/jwks.json";

export interface VerificationKeys {
  /** Loads the keys if needed; throws {@link KeySourceError} when there are none to verify with. */
  ready(): Promise<void>;
  /** For `jwtVerify`: picks the key by `kid`/`alg`, refetching once (outside the cooldown) on an unknown `kid`. */
  readonly getKey: JWTVerifyGetKey;
}

/** Keys fetched from the token server, through the shared cache. */
class RemoteKeys implements VerificationKeys {
  private readonly cache: IssuerKeyCache;

  constructor(
    private readonly source: RemoteIssuerKeySource,
    private readonly options: KeyCacheOptions,
  ) {
    this.cache = new IssuerKeyCache({ maxStaleMs: options.staleMaxMs, cooldownMs: options.cooldownMs, joinTimeoutMs: options.timeoutMs, maxSources: 1 });
  }

  private async current(): Promise<IssuerKeySet> {
    const keys = await this.cache.keysFor(this.source, { nowMs: this.options.now() });
    if (!keys.ok) throw new KeySourceError(keys.detail);
    return keys.value;
  }

  async ready(): Promise<void> {
    await this.current();
  }

  readonly getKey: JWTVerifyGetKey = async (header, token) =>
    selectIssuerKey(await this.current(), header, token, async () => {
      const refreshed = await this.cache.keysAfterUnknownKid(this.source, { nowMs: this.options.now() });
      // A refetch that failed: the token may well be signed by a key we can't see yet — a 503, as at the token
      // server, not a 401 that tells the client its token is bad. Within the cooldown the kid stays unknown: a 401.
      if (refreshed?.ok === false) throw new KeySourceError(refreshed.detail);
      return refreshed?.value;
    });
}

/** Keys configured inline: read once; if they are unusable, every verification fails with that. */
class InlineKeys implements VerificationKeys {
  private prepared: Promise<Parsed<IssuerKeySet>> | undefined;

  constructor(
    private readonly read: () => Promise<Parsed<IssuerKeySet>>,
    private readonly setting: string,
  ) {}

  private async current(): Promise<IssuerKeySet> {
    this.prepared ??= this.read();
    const keys = await this.prepared;
    if (!keys.ok) throw new KeySourceError(`${this.setting}: ${keys.detail}`);
    return keys.value;
  }

  async ready(): Promise<void> {
    await this.current();
  }

  readonly getKey: JWTVerifyGetKey = async (header, token) => (await this.current()).getKey(header, token);
}

/** One bounded fetch of a JWKS (size-capped, timed out, no redirects), through the shared parser. */
function remoteSource(id: string, label: string, url: string, fetchFn: typeof fetch, options: KeyCacheOptions): RemoteIssuerKeySource {
  return {
    id,
    label,
    async fetch(): Promise<Parsed<FetchedIssuerKeys>> {
      const response = await fetchJsonBounded(fetchFn, url, { timeoutMs: options.timeoutMs, maxBytes: MAX_ISSUER_RESPONSE_BYTES });
      if (!response.ok) return { ok: false, detail: `${label}: ${response.detail}` };
      const jwks = parseJwks(response.value.body);
      if (!jwks.ok) return { ok: false, detail: `${label}: ${jwks.detail}` };
      return { ok: true, value: { keys: jwks.value, origin: url, freshForMs: options.maxAgeMs } };
    },
  };
}

const parsedKeySet = (parsed: Parsed<JSONWebKeySet["keys"]>): Parsed<IssuerKeySet> => (parsed.ok ? { ok: true, value: issuerKeySet(parsed.value) } : parsed);

/** Verification keys for a source, of their own (no isolate-wide sharing). */
export function createVerificationKeys(source: KeySource, options: KeyCacheOptions = DEFAULT_KEY_CACHE_OPTIONS): VerificationKeys {
  switch (source.kind) {
    case "jwks":
      return new InlineKeys(async () => parsedKeySet(parseJwksJson(source.jwks)), "TOKEN_JWKS");
    case "pem":
      // The token server's kid is the RFC 7638 thumbprint, which the prober gives each PEM key.
      return new InlineKeys(async () => parsedKeySet(await jwksFromPems([source.pem])), "TOKEN_CERTS");
    case "url":
      return new RemoteKeys(remoteSource(source.url, "TOKEN_JWKS_URL", source.url, (input, init) => fetch(input, init), options), options);
    case "binding":
      return new RemoteKeys(
        remoteSource("binding:TOKEN_SERVER", "the TOKEN_SERVER binding's /.well-known/jwks.json", BINDING_JWKS_URL, (input, init) => source.fetcher.fetch(input, init), options),
        options,
      );
  }
}

/** Fetched keys, isolate-wide by where they come from: a re-read of the settings keeps them. */
const remote = new Map<string, VerificationKeys>();
/** Inline keys, per key-source object: the settings reader keeps that object while the settings stay. */
const inline = new WeakMap<KeySource, VerificationKeys>();

/**
 * The keys for a source. Bindings are isolate-wide too, so a service
 * binding's `Fetcher` from the first request serves later ones.
 */
export function verificationKeys(source: KeySource, options: KeyCacheOptions = DEFAULT_KEY_CACHE_OPTIONS): VerificationKeys {
  if (source.kind === "jwks" || source.kind === "pem") {
    let keys = inline.get(source);
    if (!keys) inline.set(source, (keys = createVerificationKeys(source, options)));
    return keys;
  }
  const id = source.kind === "url" ? `url:${source.url}` : "binding:TOKEN_SERVER";
  let keys = remote.get(id);
  if (!keys) remote.set(id, (keys = createVerificationKeys(source, options)));
  return keys;
}

/**
 * Remote keys of their own from a loader the caller steers (tests steer its
 * clock and answers). The loader's JWKS goes through the shared parser; a
 * {@link KeySourceError} it throws is the failure's detail.
 */
export function createKeyCache(load: () => Promise<JSONWebKeySet>, options: KeyCacheOptions): VerificationKeys {
  return new RemoteKeys(
    {
      id: "loader",
      label: "the key loader",
      async fetch() {
        let jwks: JSONWebKeySet;
        try {
          jwks = await load();
        } catch (error) {
          return { ok: false, detail: error instanceof KeySourceError ? error.message : "verification keys could not be loaded" };
        }
        const keys = parseJwks(jwks);
        return keys.ok ? { ok: true, value: { keys: keys.value, origin: "the key loader", freshForMs: options.maxAgeMs } } : keys;
      },
    },
    options,
  );
}
