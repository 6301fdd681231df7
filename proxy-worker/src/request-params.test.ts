/**
 * The proxy judges a request on exactly what the upstream will read: a body the
 * upstream would parse for `mount`/`from`/`digest`/`_state` never goes upstream,
 * and a mount's source is in the log line.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { callProxy, get, recorded, uniqueRepo } from "../test/proxy.ts";
import { pull, pullPush, registryToken } from "../test/tokens.ts";

const DIGEST = `sha256:${"d".repeat(64)}`;

afterEach(() => {
  vi.restoreAllMocks();
});

function proxyLogLines(spy: { mock: { calls: unknown[][] } }): Record<string, unknown>[] {
  return spy.mock.calls.map((call) => JSON.parse(String(call[0])) as Record<string, unknown>).filter((line) => line["event"] === "proxy_request");
}

describe("bodies the upstream would read parameters from", () => {
  it("a form-encoded mount in the body of an upload start is refused with 415, and nothing goes upstream", async () => {
    const repo = uniqueRepo("form-mount");
    const token = await registryToken({ access: [pullPush(repo)] });
    const response = await callProxy(
      get(`/v2/${repo}/blobs/uploads/`, token, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: `mount=${encodeURIComponent(DIGEST)}&from=victim%2Fsecret`,
      }),
    );
    expect(response.status).toBe(415);
    expect(await response.json()).toMatchObject({ errors: [{ code: "UNSUPPORTED" }] });
    expect(await recorded(`/v2/${repo}/`)).toEqual([]);
  });

  it.each([
    ["POST", "blobs/uploads/", "multipart/form-data; boundary=b"],
    ["PUT", `blobs/uploads/u-1?_state=s&digest=${DIGEST}`, "application/x-www-form-urlencoded; charset=utf-8"],
    ["PATCH", "blobs/uploads/u-1?_state=s", "Multipart/Form-Data; boundary=b"],
  ])("%s %s with %s is refused before the token is looked at", async (method, suffix, contentType) => {
    const repo = uniqueRepo("form-any");
    const response = await callProxy(get(`/v2/${repo}/${suffix}`, undefined, { method, headers: { "Content-Type": contentType }, body: "digest=x" }));
    expect(response.status).toBe(415);
    expect(response.headers.get("WWW-Authenticate")).toBeNull();
    expect(await recorded(`/v2/${repo}/`)).toEqual([]);
  });

  it("an octet-stream upload start still goes upstream", async () => {
    const repo = uniqueRepo("octet");
    const response = await callProxy(get(`/v2/${repo}/blobs/uploads/`, await registryToken({ access: [pullPush(repo)] }), { method: "POST", headers: { "Content-Type": "application/octet-stream" }, body: "" }));
    expect(response.status).toBe(202);
    expect((await recorded(`/v2/${repo}/`)).map((r) => r.method)).toEqual(["POST"]);
  });
});

describe("from", () => {
  it("a from without mount needs pull on it", async () => {
    const repo = uniqueRepo("from-only");
    const response = await callProxy(get(`/v2/${repo}/blobs/uploads/?from=victim%2Fsecret`, await registryToken({ access: [pullPush(repo)] }), { method: "POST" }));
    expect(response.status).toBe(401);
    expect(await recorded(`/v2/${repo}/`)).toEqual([]);
  });

  it("the log line of a mount names its source", async () => {
    const spy = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const repo = uniqueRepo("mount-log");
    const token = await registryToken({ access: [pullPush(repo), pull("acme/app")] });
    const response = await callProxy(get(`/v2/${repo}/blobs/uploads/?from=acme%2Fapp&mount=${DIGEST}`, token, { method: "POST" }));
    expect(response.status).toBe(202);
    expect(proxyLogLines(spy)).toEqual([expect.objectContaining({ endpoint: "upload-start", repository: repo, mountFrom: "acme/app", status: 202 })]);
  });
});
