import { describe, expect, it } from "vitest";
import { rewriteLink, rewriteUrl, type UpstreamBase } from "./links.ts";

const PROXY = "https://proxy.example";
const UPSTREAM: UpstreamBase = { origin: "http://10.0.0.5:5000", pathname: "/" };
const REQUEST = new URL("http://10.0.0.5:5000/v2/acme/app/blobs/uploads/");

describe("rewriteUrl", () => {
  it("points an absolute upstream upload Location at the proxy, keeping _state exactly", () => {
    const state = "BuBLnJeWQNUc99NhoNxTQ2UWya4Xys3FmlS-BvS3WZR7Ik5hbWUiOiJhY21lL2FwcCJ9%3D%3D";
    expect(rewriteUrl(`http://10.0.0.5:5000/v2/acme/app/blobs/uploads/338e?_state=${state}`, REQUEST, UPSTREAM, PROXY)).toBe(
      `${PROXY}/v2/acme/app/blobs/uploads/338e?_state=${state}`,
    );
  });

  it("leaves a root-relative Location alone: it already means the proxy", () => {
    expect(rewriteUrl("/v2/acme/app/blobs/sha256:abc", REQUEST, UPSTREAM, PROXY)).toBe("/v2/acme/app/blobs/sha256:abc");
  });

  it("leaves object-store and other hosts' URLs alone", () => {
    const s3 = "https://bucket.s3.amazonaws.com/docker/registry/v2/blobs/sha256/ab/abc/data?X-Amz-Signature=x";
    expect(rewriteUrl(s3, REQUEST, UPSTREAM, PROXY)).toBe(s3);
    expect(rewriteUrl("http://10.0.0.5:5001/v2/x", REQUEST, UPSTREAM, PROXY)).toBe("http://10.0.0.5:5001/v2/x");
    expect(rewriteUrl("https://10.0.0.5:5000/v2/x", REQUEST, UPSTREAM, PROXY)).toBe("https://10.0.0.5:5000/v2/x");
  });

  it("strips an upstream base path, whether the Location is absolute or root-relative", () => {
    const base: UpstreamBase = { origin: "https://reg.example", pathname: "/mirror" };
    const request = new URL("https://reg.example/mirror/v2/acme/app/blobs/uploads/");
    expect(rewriteUrl("https://reg.example/mirror/v2/acme/app/blobs/uploads/u?_state=s", request, base, PROXY)).toBe(`${PROXY}/v2/acme/app/blobs/uploads/u?_state=s`);
    expect(rewriteUrl("/mirror/v2/acme/app/blobs/uploads/u?_state=s", request, base, PROXY)).toBe(`${PROXY}/v2/acme/app/blobs/uploads/u?_state=s`);
    expect(rewriteUrl("https://reg.example/elsewhere/x", request, base, PROXY)).toBe("https://reg.example/elsewhere/x");
  });

  it("treats a protocol-relative upstream URL as absolute", () => {
    expect(rewriteUrl("//10.0.0.5:5000/v2/acme/app/blobs/uploads/u", REQUEST, UPSTREAM, PROXY)).toBe(`${PROXY}/v2/acme/app/blobs/uploads/u`);
  });

  it("leaves an unparsable value unchanged", () => {
    expect(rewriteUrl("http://[::1", REQUEST, UPSTREAM, PROXY)).toBe("http://[::1");
  });
});

describe("rewriteLink", () => {
  it("rewrites each bracketed upstream URL and keeps the parameters", () => {
    const link = '<http://10.0.0.5:5000/v2/acme/app/tags/list?n=2&last=b>; rel="next", <https://docs.example/x>; rel="help"';
    expect(rewriteLink(link, REQUEST, UPSTREAM, PROXY)).toBe(`<${PROXY}/v2/acme/app/tags/list?n=2&last=b>; rel="next", <https://docs.example/x>; rel="help"`);
  });

  it("keeps Distribution's relative next link as it is", () => {
    const link = '</v2/acme/app/tags/list?last=b&n=2>; rel="next"';
    expect(rewriteLink(link, REQUEST, UPSTREAM, PROXY)).toBe(link);
  });
});
