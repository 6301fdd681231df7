/**
 * The proxy's own address, in rewritten `Location`/`Link`s and in the
 * `X-Forwarded-*` it sends upstream, comes from PUBLIC_URL or is relative:
 * never from the request, whose URL under workerd carries the client's `Host`.
 */
import { describe, expect, it } from "vitest";
import { callProxy, proxyEnv, recorded, uniqueRepo, upstreamUrl } from "../test/proxy.ts";
import { pullPush, registryToken } from "../test/tokens.ts";

const PUBLIC = "https://registry.example.com";

/** A request as a client that sent `Host: evil.example` arrives under workerd. */
function fromEvilHost(path: string, token: string, init: RequestInit = {}): Request {
  const headers = new Headers(init.headers);
  headers.set("Authorization", `Bearer ${token}`);
  return new Request(`http://evil.example${path}`, { ...init, headers });
}

describe("without PUBLIC_URL", () => {
  it("an upload Location is root-relative, and the upstream is told its own address", async () => {
    const repo = uniqueRepo("relative");
    const response = await callProxy(fromEvilHost(`/v2/${repo}/blobs/uploads/`, await registryToken({ access: [pullPush(repo)] }), { method: "POST" }));
    expect(response.status).toBe(202);
    expect(response.headers.get("Location")).toMatch(new RegExp(`^/v2/${repo}/blobs/uploads/[0-9a-f-]+\\?_state=s0-`));
    const [seen] = await recorded(`/v2/${repo}/`);
    expect(seen?.headers["x-forwarded-host"]).toBe(new URL(upstreamUrl()).host);
    expect(seen?.headers["x-forwarded-proto"]).toBe("http");
  });

  it("an upstream that builds Locations from X-Forwarded-* (as Distribution does) is rewritten the same way", async () => {
    const repo = uniqueRepo("forwarded");
    const response = await callProxy(fromEvilHost(`/v2/${repo}/blobs/uploads/`, await registryToken({ access: [pullPush(repo)] }), { method: "POST" }));
    expect(response.headers.get("Location")).toMatch(new RegExp(`^/v2/${repo}/blobs/uploads/[0-9a-f-]+\\?_state=s0-`));
  });

  it("a Link is root-relative too", async () => {
    const repo = uniqueRepo("relative-link");
    const response = await callProxy(fromEvilHost(`/v2/${repo}/tags/list?n=1`, await registryToken({ access: [pullPush(repo)] })));
    expect(response.headers.get("Link")).toBe(`</v2/${repo}/tags/list?n=1&last=a>; rel="next"`);
  });
});

describe("with PUBLIC_URL", () => {
  const testEnv = proxyEnv({ PUBLIC_URL: PUBLIC });

  it.each(["plain", "forwarded"])("an upload Location (%s upstream) is on PUBLIC_URL whatever the Host, and so is X-Forwarded-*", async (kind) => {
    const repo = uniqueRepo(kind);
    const response = await callProxy(fromEvilHost(`/v2/${repo}/blobs/uploads/`, await registryToken({ access: [pullPush(repo)] }), { method: "POST", headers: { "X-Forwarded-Host": "evil.example" } }), testEnv);
    expect(response.status).toBe(202);
    expect(response.headers.get("Location")).toMatch(new RegExp(`^${PUBLIC}/v2/${repo}/blobs/uploads/[0-9a-f-]+\\?_state=s0-`));
    const [seen] = await recorded(`/v2/${repo}/`);
    expect([seen?.headers["x-forwarded-host"], seen?.headers["x-forwarded-proto"]]).toEqual(["registry.example.com", "https"]);
  });

  it.each(["https://registry.example.com/base", "https://registry.example.com/?x=1", "ftp://registry.example.com", "https://u:p@registry.example.com", "not a url"])("PUBLIC_URL %s is a setting error", async (value) => {
    const response = await callProxy(fromEvilHost("/v2/", "t"), proxyEnv({ PUBLIC_URL: value }));
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(JSON.parse(text)).toMatchObject({ errors: [{ code: "UNKNOWN", detail: { reason: "misconfigured", setting: "PUBLIC_URL" } }] });
    // The setting's name, never its value (one of these carries credentials).
    expect(text).not.toContain(value);
  });
});
