/**
 * The issuer-key module both Workers verify with: one JWKS parser, one PEM
 * prober, one key selection, one bounded fetch and one cache of remote keys with
 * an injected store. Times and durations are milliseconds throughout.
 */
export { MAX_JWKS_KEYS, parseJwks, parseJwksJson, publicJwk, type Parsed } from "./jwks.ts";
export { jwksFromPems, PEM_PROBE_ALGS } from "./pem.ts";
export { issuerKeySet, kidlessIssuerKeySet, selectIssuerKey, type IssuerKeySet } from "./key-selection.ts";
export { fetchJsonBounded, MAX_ISSUER_RESPONSE_BYTES, type FetchedJson, type FetchLimits } from "./bounded-fetch.ts";
export {
  IssuerKeyCache,
  type FetchedIssuerKeys,
  type IssuerKeyCacheSettings,
  type IssuerKeyCall,
  type IssuerKeys,
  type IssuerKeyStore,
  type RemoteIssuerKeySource,
  type StoredIssuerKeys,
} from "./cache.ts";
