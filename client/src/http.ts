/**
 * `fetch` with a timeout per attempt and a few retries on network errors and
 * 5xx answers — GitHub's token endpoint and a cold token server both fail
 * transiently — plus a safe summary of an error answer for messages.
 */

export type Fetch = typeof fetch;

export interface RetryOptions {
  readonly attempts?: number;
  readonly timeoutMs?: number;
  /** Delay before attempt n+1 (ms); tests pass 0. */
  readonly backoffMs?: number;
}

export async function fetchWithRetry(fetchImpl: Fetch, url: URL, init: RequestInit, options: RetryOptions = {}): Promise<Response> {
  const attempts = options.attempts ?? 3;
  const backoffMs = options.backoffMs ?? 1000;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, backoffMs * (attempt - 1)));
    try {
      const response = await fetchImpl(url, { ...init, signal: AbortSignal.timeout(options.timeoutMs ?? 15_000) });
      if (response.status < 500 || attempt === attempts) return response;
      await response.body?.cancel();
      lastError = new Error(`HTTP ${response.status}`);
    } catch (error) {
      lastError = error;
    }
  }
  throw new Error(`${url.origin}${url.pathname}: ${describeError(lastError)}`);
}

export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // undici hides the useful part (ECONNREFUSED, ENOTFOUND) in `cause`.
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error.message}${cause}`;
}

const MAX_SUMMARY = 300;

/**
 * The message an error answer carries — Distribution's `errors[0].message`,
 * OAuth's `error_description`, GitHub's `message` — or its first characters,
 * without control characters so it cannot forge a workflow command.
 */
export async function errorSummary(response: Response): Promise<string> {
  const text = (await response.text()).slice(0, 4096);
  let message = text;
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const first = Array.isArray(body["errors"]) ? (body["errors"][0] as Record<string, unknown> | undefined) : undefined;
    const candidate = first?.["message"] ?? body["error_description"] ?? body["message"] ?? body["error"];
    if (typeof candidate === "string") message = candidate;
  } catch {
    // not JSON: keep the text
  }
  // eslint-disable-next-line no-control-regex
  const clean = message.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
  return `HTTP ${response.status}${clean === "" ? "" : `: ${clean.slice(0, MAX_SUMMARY)}`}`;
}
