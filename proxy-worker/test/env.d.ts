/** Bindings the vitest config gives the workerd tests (`env` from `cloudflare:test`). */
declare namespace Cloudflare {
  interface Env {
    readonly TEST_SIGNING_KEY: string;
    readonly TEST_CERT: string;
    readonly TEST_JWKS: string;
    readonly TOKEN_SERVER: Fetcher;
  }
}
