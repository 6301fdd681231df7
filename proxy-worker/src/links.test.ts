import { describe, expect, it } from "vitest";
import { foreignLocation, proxyUrlFor, rewriteLink, type UpstreamBase } from "./links.ts";

const PROXY = "https://proxy.example";
const UPSTREAM: UpstreamBase = { origin: "http://10.0.0.5:5000", pathname: "/" };
const UPSTREAM_URL = new URL("http://10.0.0.5:5000");
const REQUEST = new URL("http://10.0.0.5:5000/v2/acme/app/blobs/uploads/");

describe("proxyUrlFor", () => {
  const state = "BuBLnJeWQNUc99NhoNxTQ2UWya4Xys3FmlS-BvS3WZR7Ik5hbWUiOiJhY21lL2FwcCJ9%3D%3D";

  it("points an absolute upstream upload Location at the proxy's public URL, keeping _state exactly", () => {
    expect(proxyUrlFor(`http://10.0.0.5:5000/v2/acme/app/blobs/uploads/338e?_state=${state}`, REQUEST, UPSTREAM, PROXY)).toBe(`${PROXY}/v2/acme/app/blobs/uploads/338e?_state=${state}`);
  });

  it("without a public URL, makes it root-relative: the client resolves it against the URL it used", () => {
    expect(proxyUrlFor(`http://10.0.0.5:5000/v2/acme/app/blobs/uploads/338e?_state=${state}`, REQUEST, UPSTREAM, undefined)).toBe(`/v2/acme/app/blobs/uploads/338e?_state=${state}`);
  });

  it("keeps a Location already on the public URL (an upstream that honours X-Forwarded-*)", () => {
    expect(proxyUrlFor(`${PROXY}/v2/acme/app/blobs/uploads/u?_state=s`, REQUEST, UPSTREAM, PROXY)).toBe(`${PROXY}/v2/acme/app/blobs/uploads/u?_state=s`);
  });

  it("leaves a root-relative Location alone: it already means the proxy", () => {
    expect(proxyUrlFor("/v2/acme/app/blobs/sha256:abc", REQUEST, UPSTREAM, PROXY)).toBe("/v2/acme/app/blobs/sha256:abc");
  });

  it("is undefined for object-store and other hosts' URLs, and for another Host the upstream was told", () => {
    for (const url of ["https://bucket.s3.amazonaws.com/x?X-Amz-Signature=x", "http://10.0.0.5:5001/v2/x", "https://10.0.0.5:5000/v2/x", "http://evil.example/v2/acme/app/blobs/uploads/u"]) {
      expect(proxyUrlFor(url, REQUEST, UPSTREAM, PROXY), url).toBeUndefined();
    }
  });

  it("strips an upstream base path, whether the Location is absolute or root-relative", () => {
    const base: UpstreamBase = { origin: "https://reg.example", pathname: "/mirror" };
    const request = new URL("https://reg.example/mirror/v2/acme/app/blobs/uploads/");
    expect(proxyUrlFor("https://reg.example/mirror/v2/acme/app/blobs/uploads/u?_state=s", request, base, PROXY)).toBe(`${PROXY}/v2/acme/app/blobs/uploads/u?_state=s`);
    expect(proxyUrlFor("/mirror/v2/acme/app/blobs/uploads/u?_state=s", request, base, undefined)).toBe("/v2/acme/app/blobs/uploads/u?_state=s");
    expect(proxyUrlFor("https://reg.example/elsewhere/x", request, base, PROXY)).toBeUndefined();
  });

  it("treats a protocol-relative upstream URL as absolute", () => {
    expect(proxyUrlFor("//10.0.0.5:5000/v2/acme/app/blobs/uploads/u", REQUEST, UPSTREAM, PROXY)).toBe(`${PROXY}/v2/acme/app/blobs/uploads/u`);
  });

  it("is undefined for an unparsable value", () => {
    expect(proxyUrlFor("http://[::1", REQUEST, UPSTREAM, PROXY)).toBeUndefined();
  });
});

describe("foreignLocation", () => {
  it("passes an absolute https URL to a public host", () => {
    const s3 = "https://bucket.s3.amazonaws.com/docker/registry/v2/blobs/sha256/ab/abc/data?X-Amz-Signature=x";
    expect(foreignLocation(s3, REQUEST, UPSTREAM_URL, false)).toBe(s3);
  });

  it.each([
    ["plain http", "http://bucket.s3.amazonaws.com/x"],
    ["scheme-relative, resolved against an http upstream", "//bucket.s3.amazonaws.com/x"],
    ["loopback", "https://127.0.0.1:9000/x"],
    ["cloud metadata", "https://169.254.169.254/latest/meta-data/"],
    ["a private address", "https://192.168.0.10/x"],
    ["IPv6 loopback", "https://[::1]/x"],
    ["localhost", "https://localhost/x"],
    ["an internal name", "https://metadata.google.internal/x"],
    ["credentials in the URL", "https://user:pw@bucket.s3.amazonaws.com/x"],
    ["not http at all", "file:///etc/passwd"],
    ["unparsable", "https://[::1"],
  ])("refuses %s", (_, url) => {
    expect(foreignLocation(url, REQUEST, UPSTREAM_URL, false)).toBeUndefined();
  });

  it("resolves a scheme-relative URL against an https upstream, and passes it absolute", () => {
    expect(foreignLocation("//cdn.example.com/blob", new URL("https://reg.example/v2/a/blobs/x"), new URL("https://reg.example"), false)).toBe("https://cdn.example.com/blob");
  });

  it("passes an https URL on the upstream's own internal host (an object store beside it)", () => {
    expect(foreignLocation("https://10.0.0.5:9000/bucket/x", REQUEST, UPSTREAM_URL, false)).toBe("https://10.0.0.5:9000/bucket/x");
    expect(foreignLocation("http://10.0.0.5:9000/bucket/x", REQUEST, UPSTREAM_URL, false)).toBeUndefined();
  });

  it("with UPSTREAM_ALLOW_INSECURE_REDIRECTS, passes http and internal hosts (local object stores), never other schemes", () => {
    expect(foreignLocation("http://127.0.0.1:9000/bucket/x", REQUEST, UPSTREAM_URL, true)).toBe("http://127.0.0.1:9000/bucket/x");
    expect(foreignLocation("file:///etc/passwd", REQUEST, UPSTREAM_URL, true)).toBeUndefined();
  });
});

describe("rewriteLink", () => {
  it("rewrites each bracketed upstream URL and keeps the parameters", () => {
    const link = '<http://10.0.0.5:5000/v2/acme/app/tags/list?n=2&last=b>; rel="next", <https://docs.example/x>; rel="help"';
    expect(rewriteLink(link, REQUEST, UPSTREAM, PROXY)).toBe(`<${PROXY}/v2/acme/app/tags/list?n=2&last=b>; rel="next", <https://docs.example/x>; rel="help"`);
    expect(rewriteLink(link, REQUEST, UPSTREAM, undefined)).toBe('</v2/acme/app/tags/list?n=2&last=b>; rel="next", <https://docs.example/x>; rel="help"');
  });

  it("keeps Distribution's relative next link as it is", () => {
    const link = '</v2/acme/app/tags/list?last=b&n=2>; rel="next"';
    expect(rewriteLink(link, REQUEST, UPSTREAM, PROXY)).toBe(link);
  });
});
