/**
 * What of an upstream's answer reaches the client: redirects only to absolute
 * https URLs on public hosts (or the upstream's own), headers only up to a
 * bound, and an unexpected failure as a Distribution error body.
 */
import { internalErrorResponse } from "@jwt-registry-auth/protocol";
import { afterEach, describe, expect, it, vi, type MockInstance } from "vitest";
import { callProxy, get, proxyEnv, uniqueRepo } from "../test/proxy.ts";
import { FAKE_BLOB_DIGEST } from "../test/fake-upstream.ts";
import { pull, registryToken } from "../test/tokens.ts";

afterEach(() => {
  vi.restoreAllMocks();
});

async function redirectTo(location: string, env = proxyEnv()): Promise<Response> {
  const repo = uniqueRepo("redirect");
  return callProxy(get(`/v2/${repo}/blobs/${FAKE_BLOB_DIGEST}?location=${encodeURIComponent(location)}`, await registryToken({ access: [pull(repo)] })), env);
}

describe("upstream redirects", () => {
  it("an absolute https URL on a public host goes to the client", async () => {
    const response = await redirectTo("https://bucket.s3.amazonaws.com/blob?X-Amz-Signature=x");
    expect([response.status, response.headers.get("Location")]).toEqual([307, "https://bucket.s3.amazonaws.com/blob?X-Amz-Signature=x"]);
  });

  it.each(["http://bucket.s3.amazonaws.com/blob", "//bucket.s3.amazonaws.com/blob", "https://169.254.169.254/latest/meta-data/", "https://10.0.0.1/blob", "https://localhost/blob", "https://[::1]/blob"])(
    "%s is a 502, and the client never sees it",
    async (location) => {
      const response = await redirectTo(location);
      expect(response.status).toBe(502);
      expect(response.headers.get("Location")).toBeNull();
      expect(await response.json()).toMatchObject({ errors: [{ code: "UNKNOWN" }] });
    },
  );

  it("https on the upstream's own (loopback) host goes to the client", async () => {
    const response = await redirectTo("https://127.0.0.1:9000/bucket/blob");
    expect([response.status, response.headers.get("Location")]).toEqual([307, "https://127.0.0.1:9000/bucket/blob"]);
  });

  it("UPSTREAM_ALLOW_INSECURE_REDIRECTS lets a local http object store through", async () => {
    const response = await redirectTo("http://127.0.0.1:9000/bucket/blob", proxyEnv({ UPSTREAM_ALLOW_INSECURE_REDIRECTS: "true" }));
    expect([response.status, response.headers.get("Location")]).toEqual([307, "http://127.0.0.1:9000/bucket/blob"]);
    expect((await redirectTo("http://127.0.0.1:9000/bucket/blob", proxyEnv({ UPSTREAM_ALLOW_INSECURE_REDIRECTS: "yes" }))).status).toBe(500);
  });
});

describe("upstream headers", () => {
  it("more than 16 KiB of them is a 502", async () => {
    const repo = uniqueRepo("big-headers");
    const response = await callProxy(get(`/v2/${repo}/manifests/v1`, await registryToken({ access: [pull(repo)] })));
    expect(response.status).toBe(502);
    expect(response.headers.get("X-Padding")).toBeNull();
  });
});

describe("an unexpected failure", () => {
  /** The one log line of the request, parsed; fails unless there is exactly one and it is JSON. */
  function onlyLogLine(spy: MockInstance<typeof console.log>): Record<string, unknown> {
    const lines = spy.mock.calls.map((call) => String(call[0]));
    expect(lines).toHaveLength(1);
    return JSON.parse(lines[0] ?? "") as Record<string, unknown>;
  }

  it("is a Distribution 500 body, logged without the token", async () => {
    const spy = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const token = await registryToken({ access: [pull("acme/app")] });
    // A wrangler.toml var can be a number: nothing in the proxy expects one.
    const response = await callProxy(get("/v2/acme/app/manifests/v1", token), proxyEnv({ UPSTREAM_URL: 5000 }));
    expect(response.status).toBe(500);
    expect(response.headers.get("Content-Type")).toContain("application/json");
    expect(response.headers.get("Docker-Distribution-API-Version")).toBe("registry/2.0");
    // The shared builder's body exactly: the same shape as the token server's internal 500.
    const body = await response.text();
    const requestId = response.headers.get("X-Request-Id") ?? "";
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(body)).toEqual(await internalErrorResponse("registry proxy", { requestId }).json());
    expect(JSON.parse(body)).toEqual({ errors: [{ code: "UNKNOWN", message: "internal error in the registry proxy", detail: { reason: "internal", requestId } }] });
    const line = onlyLogLine(spy);
    expect(line).toMatchObject({ event: "proxy_request", requestId, method: "GET", status: 500, reason: expect.stringMatching(/^internal error: TypeError: /) });
    const logged = JSON.stringify(line);
    expect(logged).not.toContain(token);
    expect(logged).not.toContain(token.split(".")[2]);
  });

  it("cuts a token out of the error's message before logging it, and never answers with it", async () => {
    const spy = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const token = await registryToken({ access: [pull("acme/app")] });
    // A dependency that fails with the token in its message: the worst an unexpected error can do.
    const leaky = { trim: () => { throw new Error(`cannot use ${token} here`); } };
    const response = await callProxy(get("/v2/acme/app/manifests/v1", token), proxyEnv({ UPSTREAM_URL: leaky }));
    expect(response.status).toBe(500);
    const body = await response.text();
    expect(JSON.parse(body)).toEqual({ errors: [{ code: "UNKNOWN", message: "internal error in the registry proxy", detail: { reason: "internal", requestId: response.headers.get("X-Request-Id") } }] });
    const line = onlyLogLine(spy);
    expect(line).toMatchObject({ event: "proxy_request", status: 500, reason: "internal error: Error: cannot use <redacted> here" });
    for (const text of [JSON.stringify(line), body]) {
      expect(text).not.toContain(token);
      for (const part of token.split(".")) expect(text).not.toContain(part);
    }
  });
});
