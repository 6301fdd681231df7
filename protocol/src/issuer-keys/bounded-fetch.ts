/**
 * Fetches a small JSON document (discovery, a JWKS) with a deadline and a size
 * cap: an issuer that hangs or streams without end must not hold a request
 * hostage or exhaust the isolate's memory; a declared Content-Length over the cap
 * is refused without reading the body. Redirects are not followed, because
 * the target of a redirect would escape the issuer-URL rule.
 */
import { readCapped } from "../read-capped.ts";
import type { Result } from "../result.ts";

/** The cap on one fetched document, for both Workers; real JWKS are a few KB (Entra's, with x5c chains, ~20 KB). */
export const MAX_ISSUER_RESPONSE_BYTES = 256 * 1024;

export interface FetchLimits {
  readonly timeoutMs: number;
  readonly maxBytes: number;
}

export type FetchedJson = Result<{ readonly body: unknown; readonly cacheControl: string | null }>;

export async function fetchJsonBounded(fetchFn: typeof fetch, url: string, limits: FetchLimits): Promise<FetchedJson> {
  const signal = AbortSignal.timeout(limits.timeoutMs);
  try {
    const res = await fetchFn(url, { headers: { Accept: "application/json" }, redirect: "manual", signal });
    if (res.status !== 200) {
      await res.body?.cancel();
      return { ok: false, detail: `HTTP ${res.status}` };
    }
    const declared = Number(res.headers.get("Content-Length") ?? "0");
    if (declared > limits.maxBytes || res.body === null) {
      await res.body?.cancel();
      return { ok: false, detail: res.body === null ? "empty response" : "response too large" };
    }
    const bytes = await readCapped(res.body, limits.maxBytes);
    if (bytes === undefined) return { ok: false, detail: "response too large" };
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
    } catch {
      return { ok: false, detail: "response is not JSON" };
    }
    return { ok: true, value: { body, cacheControl: res.headers.get("Cache-Control") } };
  } catch {
    return { ok: false, detail: signal.aborted ? `timed out after ${limits.timeoutMs} ms` : "network error" };
  }
}
