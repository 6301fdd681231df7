import { describe, expect, it } from "vitest";
import { errorSummary, fetchWithRetry, type Fetch } from "./http.ts";

const url = new URL("http://127.0.0.1:1/x");

function scripted(...answers: (Response | Error)[]): { fetch: Fetch; calls: () => number } {
  let calls = 0;
  const fetchImpl: Fetch = () => {
    const next = answers[Math.min(calls++, answers.length - 1)] as Response | Error;
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  };
  return { fetch: fetchImpl, calls: () => calls };
}

describe("fetchWithRetry", () => {
  it("retries network errors and 5xx, then returns the first usable answer", async () => {
    const s = scripted(new Error("ECONNRESET"), new Response("", { status: 503 }), new Response("ok", { status: 200 }));
    const response = await fetchWithRetry(s.fetch, url, {}, { backoffMs: 0 });
    expect(response.status).toBe(200);
    expect(s.calls()).toBe(3);
  });

  it("does not retry a 4xx", async () => {
    const s = scripted(new Response("", { status: 401 }), new Response("", { status: 200 }));
    expect((await fetchWithRetry(s.fetch, url, {}, { backoffMs: 0 })).status).toBe(401);
    expect(s.calls()).toBe(1);
  });

  it("returns the last 5xx answer once attempts are used up", async () => {
    const s = scripted(new Response("", { status: 502 }));
    expect((await fetchWithRetry(s.fetch, url, {}, { attempts: 2, backoffMs: 0 })).status).toBe(502);
    expect(s.calls()).toBe(2);
  });

  it("names the endpoint and the underlying cause when every attempt fails", async () => {
    const s = scripted(new TypeError("fetch failed", { cause: new Error("connect ECONNREFUSED 127.0.0.1:1") }));
    await expect(fetchWithRetry(s.fetch, url, {}, { attempts: 2, backoffMs: 0 })).rejects.toThrow("http://127.0.0.1:1/x: fetch failed: connect ECONNREFUSED 127.0.0.1:1");
  });

  it("times out a hanging request", async () => {
    const hanging: Fetch = (_input, init) =>
      new Promise((_resolve, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal?.reason as Error)));
    await expect(fetchWithRetry(hanging, url, {}, { attempts: 1, timeoutMs: 50 })).rejects.toThrow(/timeout|aborted/i);
  });
});

describe("errorSummary", () => {
  it.each([
    [{ errors: [{ code: "UNAUTHORIZED", message: "authentication failed" }] }, "HTTP 401: authentication failed"],
    [{ error: "invalid_grant", error_description: "refresh token expired" }, "HTTP 401: refresh token expired"],
    [{ message: "Bad credentials" }, "HTTP 401: Bad credentials"],
    ["plain\ntext\r\n::error::forged", "HTTP 401: plain text ::error::forged"],
    ["", "HTTP 401"],
  ])("%j → %s", async (body, summary) => {
    expect(await errorSummary(new Response(typeof body === "string" ? body : JSON.stringify(body), { status: 401 }))).toBe(summary);
  });

  it("cuts a long body short", async () => {
    expect((await errorSummary(new Response("x".repeat(10_000), { status: 500 }))).length).toBeLessThan(320);
  });
});
