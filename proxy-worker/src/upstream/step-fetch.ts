/**
 * One call to a cloud endpoint for a credential source, with the failures every
 * source maps the same way: a timeout is a 504, an unreachable endpoint a 502,
 * an answer of 5xx/429 a 503, any other refusal a 502 — each message naming the
 * step ("STS AssumeRoleWithWebIdentity refused: AccessDenied"), never a secret.
 */
import { UpstreamError } from "../upstream-auth.ts";
import type { MintContext } from "./credential-source.ts";

/** At most this much of a cloud's answer is read: credentials and error documents are small. */
const MAX_ANSWER_BYTES = 64 * 1024;

export async function stepFetch(ctx: MintContext, step: string, url: URL, init: RequestInit): Promise<{ status: number; text: string }> {
  let response: Response;
  try {
    response = await ctx.fetch(url, { ...init, redirect: "manual", signal: AbortSignal.timeout(ctx.timeoutMs) });
  } catch (error) {
    if (error instanceof DOMException && error.name === "TimeoutError") throw new UpstreamError(504, `${step} did not answer in time`);
    throw new UpstreamError(502, `${step} could not be reached`);
  }
  const text = await response.text();
  if (text.length > MAX_ANSWER_BYTES) throw new UpstreamError(502, `${step} answered with more than ${MAX_ANSWER_BYTES} bytes`);
  return { status: response.status, text };
}

/** A refusal of `step` with the cloud's error `code` (a short identifier, cut to 64 safe characters). */
export function refused(step: string, status: number, code: string | undefined): UpstreamError {
  const safe = (code ?? "").replace(/[^\w.:-]/g, "").slice(0, 64) || `HTTP ${status}`;
  return new UpstreamError(status >= 500 || status === 429 ? 503 : 502, `${step} refused: ${safe}`, status);
}
