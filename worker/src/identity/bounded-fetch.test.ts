import { describe, expect, inject, it } from "vitest";
import { fetchJsonBounded } from "@jwt-registry-auth/protocol/issuer-keys";

const limits = { timeoutMs: 1_000, maxBytes: 1_024 };
const URL_ = "https://issuer.example.com/jwks";
const answer =
  (make: () => Response): typeof fetch =>
  async () =>
    make();

/** A body that streams `chunks` chunks of 256 bytes, without a Content-Length. */
function streamed(chunks: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent++ < chunks) controller.enqueue(new Uint8Array(256).fill(0x20));
      else controller.close();
    },
  });
}

describe("fetchJsonBounded", () => {
  it("reads a JSON document and its Cache-Control from a real loopback issuer", async () => {
    const result = await fetchJsonBounded((i, init) => fetch(i, init), `${inject("githubIssuer")}/.well-known/openid-configuration`, limits);
    expect(result).toMatchObject({ ok: true, value: { body: { issuer: inject("githubIssuer") }, cacheControl: null } });
  });

  it("passes Cache-Control on", async () => {
    const result = await fetchJsonBounded(answer(() => new Response('{"keys":[]}', { headers: { "Cache-Control": "max-age=60" } })), URL_, limits);
    expect(result).toEqual({ ok: true, value: { body: { keys: [] }, cacheControl: "max-age=60" } });
  });

  it("does not follow redirects", async () => {
    let seen: RequestInit | undefined;
    const result = await fetchJsonBounded(
      async (_input, init) => {
        seen = init;
        return new Response(null, { status: 302, headers: { Location: "http://evil.example.com/jwks" } });
      },
      URL_,
      limits,
    );
    expect(result).toEqual({ ok: false, detail: "HTTP 302" });
    expect(seen?.redirect).toBe("manual");
  });

  it.each([
    ["a non-200 status", () => new Response("{}", { status: 503 }), "HTTP 503"],
    ["a declared size over the cap", () => new Response("{}", { headers: { "Content-Length": "5000" } }), "response too large"],
    ["a streamed body over the cap", () => new Response(streamed(5)), "response too large"],
    ["a body that is not JSON", () => new Response("<html>"), "response is not JSON"],
    ["a body that is not UTF-8", () => new Response(new Uint8Array([0x22, 0xff, 0x22])), "response is not JSON"],
    ["no body", () => new Response(null), "empty response"],
  ])("refuses %s", async (_name, make, detail) => {
    expect(await fetchJsonBounded(answer(make), URL_, limits)).toEqual({ ok: false, detail });
  });

  it("accepts a streamed body right at the cap", async () => {
    const result = await fetchJsonBounded(answer(() => new Response(streamed(4))), URL_, limits);
    expect(result).toEqual({ ok: false, detail: "response is not JSON" });
    const exact = `"${"a".repeat(limits.maxBytes - 2)}"`;
    expect(await fetchJsonBounded(answer(() => new Response(exact)), URL_, limits)).toMatchObject({ ok: true });
  });

  it("reports a network error and a timeout", async () => {
    expect(await fetchJsonBounded(() => Promise.reject(new TypeError("connection refused")), URL_, limits)).toEqual({ ok: false, detail: "network error" });
    const hanging: typeof fetch = (_input, init) => new Promise((_resolve, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal?.reason)));
    expect(await fetchJsonBounded(hanging, URL_, { ...limits, timeoutMs: 30 })).toEqual({ ok: false, detail: "timed out after 30 ms" });
  });

  it("times out a body that never ends", async () => {
    const endless: typeof fetch = async (_input, init) =>
      new Response(
        new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode("{"));
            init?.signal?.addEventListener("abort", () => controller.error(init.signal?.reason));
          },
        }),
      );
    expect(await fetchJsonBounded(endless, URL_, { ...limits, timeoutMs: 30 })).toEqual({ ok: false, detail: "timed out after 30 ms" });
  });
});
