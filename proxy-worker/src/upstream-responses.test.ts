/**
 * What of an upstream's answer reaches the client: redirects only to absolute
 * https URLs on public hosts (or the upstream's own), headers only up to a
 * bound, and an unexpected failure as a Distribution error body.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
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
  it("is a Distribution 500 body, logged without the token", async () => {
    const spy = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const token = await registryToken({ access: [pull("acme/app")] });
    // A wrangler.toml var can be a number: nothing in the proxy expects one.
    const response = await callProxy(get("/v2/acme/app/manifests/v1", token), proxyEnv({ UPSTREAM_URL: 5000 }));
    expect(response.status).toBe(500);
    expect(response.headers.get("Content-Type")).toContain("application/json");
    expect(await response.json()).toEqual({ errors: [{ code: "UNKNOWN", message: "internal error in the registry proxy" }] });
    const logged = spy.mock.calls.map((call) => String(call[0])).join("\n");
    expect(logged).toContain('"status":500');
    expect(logged).not.toContain(token);
    expect(logged).not.toContain(token.split(".")[2]);
  });
});
