/**
 * Test helper for the gar/acr/quay source tests: a MintContext whose fetch
 * records every request and answers by host and path, and whose federation
 * tokens name their audience (so a test sees which audience was asked for).
 */
import { SettingError } from "@jwt-registry-auth/protocol";
import { UpstreamError } from "../upstream-auth.ts";
import type { MintContext } from "./credential-source.ts";

export interface SeenRequest {
  readonly url: URL;
  readonly method: string;
  readonly headers: Headers;
  readonly body: string;
}

export type Answer = (request: SeenRequest) => Response | Promise<Response>;

export const NOW = Date.UTC(2026, 0, 1);

export function cloudContext(answers: Record<string, Answer>, seen: SeenRequest[], now: () => number = () => NOW): MintContext {
  return {
    now,
    timeoutMs: 200,
    federationToken: async (audience) => `federation-jwt-for:${audience}`,
    fetch: async (input, init) => {
      const url = new URL(String(input));
      const request = { url, method: init?.method ?? "GET", headers: new Headers(init?.headers), body: String(init?.body ?? "") };
      seen.push(request);
      const answer = answers[`${url.host}${url.pathname}`];
      if (!answer) throw new TypeError("fetch failed: unreachable");
      // As fetch does: the step's timeout signal rejects with its reason (a TimeoutError).
      const signal = init?.signal;
      return Promise.race([
        answer(request),
        new Promise<never>((_, reject) => signal?.addEventListener("abort", () => reject(signal.reason), { once: true })),
      ]);
    },
  };
}

/** An unsigned JWT-shaped token with `exp` (ms → s): what ACR and Quay hand out, as far as the proxy reads it. */
export function jwtWithExp(expMs: number, extra: Record<string, unknown> = {}): string {
  const part = (value: object) => btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${part({ alg: "RS256", typ: "JWT" })}.${part({ exp: Math.floor(expMs / 1000), ...extra })}.c2ln`;
}

/** A fetch answer that never comes before the timeout. */
export const hang: Answer = () => new Promise<Response>(() => undefined);

/** What a mint that must fail failed with: its status and the message naming the step. */
export async function failure(promise: Promise<unknown>): Promise<{ status: number; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof UpstreamError) return { status: error.status, message: error.message };
    throw error;
  }
  throw new Error("expected a failure");
}

/** The setting a settings parser refuses, or "valid". */
export function refusedSetting(parse: () => unknown): string {
  try {
    parse();
  } catch (error) {
    if (error instanceof SettingError) return error.setting;
    throw error;
  }
  return "valid";
}
