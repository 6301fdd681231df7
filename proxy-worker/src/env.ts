/** The proxy's bindings and settings, as `proxy-worker/wrangler.toml`, `.dev.vars` and secrets define them. */
export interface Env {
  /** Base URL of the upstream registry, e.g. `https://ghcr.io` (its `/v2/` lives under it). */
  readonly UPSTREAM_URL?: string;
  /** Where clients get registry tokens: the token server's `/token` URL. */
  readonly TOKEN_REALM?: string;
  /** The service name tokens must be issued for (`aud`), sent in every challenge. */
  readonly TOKEN_SERVICE?: string;
  /** The token server's `TOKEN_ISSUER` (`iss` of its registry tokens). */
  readonly TOKEN_ISSUER?: string;
  /** Service binding to the token server; its `/.well-known/jwks.json` is fetched through it. */
  readonly TOKEN_SERVER?: Fetcher;
  /** URL of the token server's JWKS, when there is no service binding. */
  readonly TOKEN_JWKS_URL?: string;
  /** Inline verification keys: a JWKS document. */
  readonly TOKEN_JWKS?: string;
  /** Inline verification keys: PEM certificates (or public keys), concatenated. */
  readonly TOKEN_CERTS?: string;
  /** Upstream credentials (secrets): sent as Basic, or used for the upstream's own token dance. */
  readonly UPSTREAM_USERNAME?: string;
  readonly UPSTREAM_PASSWORD?: string;
  /** The proxy's own public origin, e.g. `https://registry.example.com`; see docs/proxy.md (unset: relative Locations). */
  readonly PUBLIC_URL?: string;
  /** `"true"`: send upstream credentials to an http token realm on another origin (local dev only). */
  readonly UPSTREAM_ALLOW_INSECURE_REALM?: string;
  /** `"true"`: pass upstream redirects to http or internal addresses on to clients (local dev only). */
  readonly UPSTREAM_ALLOW_INSECURE_REDIRECTS?: string;
  /** How the upstream credential is had: none | basic | bearer | ecr | gar | acr | quay (docs/upstreams.md); unset: learnt from the upstream. */
  readonly UPSTREAM_AUTH?: string;
  /** The proxy's own OIDC signing key (secret, ES256 PKCS#8 PEM): it serves discovery and JWKS at PUBLIC_URL and signs federation JWTs. */
  readonly FEDERATION_SIGNING_KEY?: string;
  /** The `sub` of the proxy's federation JWTs, which the cloud's trust policy pins. */
  readonly FEDERATION_SUBJECT?: string;
  /** ecr: region (default: from UPSTREAM_URL's host). */
  readonly AWS_REGION?: string;
  /** ecr keyless: the IAM role assumed with the federation JWT. */
  readonly AWS_ROLE_ARN?: string;
  /** ecr keyed (secrets): an access key pair. */
  readonly AWS_ACCESS_KEY_ID?: string;
  readonly AWS_SECRET_ACCESS_KEY?: string;
  /** ecr: endpoint overrides (default: the region's STS and ECR API endpoints). */
  readonly AWS_STS_ENDPOINT?: string;
  readonly ECR_API_ENDPOINT?: string;
  /** gar keyless: the workload identity pool provider (projects/<n>/locations/global/workloadIdentityPools/<pool>/providers/<id>); optional service account to impersonate. */
  readonly GAR_WORKLOAD_IDENTITY_PROVIDER?: string;
  readonly GAR_SERVICE_ACCOUNT?: string;
  /** gar keyed (secret): a service-account JSON key. */
  readonly GAR_SERVICE_ACCOUNT_KEY?: string;
  /** gar: endpoint overrides (default Google's). */
  readonly GAR_STS_ENDPOINT?: string;
  readonly GAR_IAM_CREDENTIALS_ENDPOINT?: string;
  /** acr: the Entra tenant and app registration; ACR_CLIENT_SECRET (secret) for the keyed variant. */
  readonly ACR_TENANT_ID?: string;
  readonly ACR_CLIENT_ID?: string;
  readonly ACR_CLIENT_SECRET?: string;
  /** acr: the Entra authority (default https://login.microsoftonline.com/). */
  readonly ACR_LOGIN_ENDPOINT?: string;
  /** quay: the federated robot account (<org>+<name>) and the federation JWT's aud (default UPSTREAM_URL's host). */
  readonly QUAY_ROBOT?: string;
  readonly QUAY_FEDERATION_AUDIENCE?: string;
}
