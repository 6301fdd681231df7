import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { requiredAccess, type AccessResult } from "./access.ts";
import { formatScope } from "./scope.ts";
import { isValidRepositoryName } from "./names.ts";

const DIGEST = `sha256:${"a".repeat(64)}`;
const OTHER_DIGEST = `sha256:${"b".repeat(64)}`;

function scopesOf(result: AccessResult): string[] {
  if (!result.ok) throw new Error(`refused: ${result.code} ${result.message}`);
  return result.value.scopes.map(formatScope);
}

function refusal(result: AccessResult): [number, string] {
  if (result.ok) throw new Error(`unexpectedly allowed: ${result.value.upstreamPath}`);
  return [result.status, result.code];
}

describe("requiredAccess: every endpoint", () => {
  it.each([
    ["GET", "/v2/", "", "base", []],
    ["HEAD", "/v2/", "", "base", []],
    ["GET", "/v2/_catalog", "", "catalog", ["registry:catalog:*"]],
    ["GET", "/v2/_catalog", "?n=10&last=acme%2Fapp", "catalog", ["registry:catalog:*"]],
    ["GET", "/v2/acme/app/manifests/v1", "", "manifest", ["repository:acme/app:pull"]],
    ["HEAD", "/v2/acme/app/manifests/v1", "", "manifest", ["repository:acme/app:pull"]],
    ["GET", `/v2/acme/app/manifests/${DIGEST}`, "", "manifest", ["repository:acme/app:pull"]],
    ["PUT", "/v2/acme/app/manifests/v1", "", "manifest", ["repository:acme/app:pull,push"]],
    ["DELETE", `/v2/acme/app/manifests/${DIGEST}`, "", "manifest", ["repository:acme/app:delete"]],
    ["GET", `/v2/acme/app/blobs/${DIGEST}`, "", "blob", ["repository:acme/app:pull"]],
    ["HEAD", `/v2/acme/app/blobs/${DIGEST}`, "", "blob", ["repository:acme/app:pull"]],
    ["DELETE", `/v2/acme/app/blobs/${DIGEST}`, "", "blob", ["repository:acme/app:delete"]],
    ["POST", "/v2/acme/app/blobs/uploads/", "", "upload-start", ["repository:acme/app:pull,push"]],
    ["PATCH", "/v2/acme/app/blobs/uploads/338e7d54-421a", "?_state=abc", "upload", ["repository:acme/app:pull,push"]],
    ["PUT", "/v2/acme/app/blobs/uploads/338e7d54-421a", `?_state=abc&digest=${DIGEST}`, "upload", ["repository:acme/app:pull,push"]],
    ["GET", "/v2/acme/app/blobs/uploads/338e7d54-421a", "?_state=abc", "upload", ["repository:acme/app:pull"]],
    ["DELETE", "/v2/acme/app/blobs/uploads/338e7d54-421a", "?_state=abc", "upload", ["repository:acme/app:delete"]],
    ["GET", "/v2/acme/app/tags/list", "", "tags", ["repository:acme/app:pull"]],
    ["GET", "/v2/acme/app/tags/list", "?n=2&last=v1", "tags", ["repository:acme/app:pull"]],
    ["GET", `/v2/acme/app/referrers/${DIGEST}`, "?artifactType=application%2Fvnd.example", "referrers", ["repository:acme/app:pull"]],
    ["GET", "/v2/app/manifests/latest", "", "manifest", ["repository:app:pull"]],
  ] as const)("%s %s%s → %s", (method, path, search, endpoint, scopes) => {
    const result = requiredAccess(method, path, search);
    expect(result.ok && result.value.route.endpoint).toBe(endpoint);
    expect(scopesOf(result)).toEqual(scopes);
  });

  it("a cross-repository mount also needs pull on the source repository", () => {
    const result = requiredAccess("POST", "/v2/acme/other/blobs/uploads/", `?from=acme%2Fapp&mount=${encodeURIComponent(DIGEST)}`);
    expect(scopesOf(result)).toEqual(["repository:acme/other:pull,push", "repository:acme/app:pull"]);
    expect(result.ok && result.value.route.mountFrom).toBe("acme/app");
  });

  it("a mount from the same repository needs nothing more", () => {
    expect(scopesOf(requiredAccess("POST", "/v2/acme/app/blobs/uploads/", `?from=acme%2Fapp&mount=${DIGEST}`))).toEqual(["repository:acme/app:pull,push"]);
  });

  it("a mount without from is sent upstream as a plain upload start", () => {
    const result = requiredAccess("POST", "/v2/acme/app/blobs/uploads/", `?mount=${DIGEST}`);
    expect(scopesOf(result)).toEqual(["repository:acme/app:pull,push"]);
    expect(result.ok && result.value.upstreamPath).toBe("/v2/acme/app/blobs/uploads/");
  });

  it("splits names that contain endpoint words the way Distribution's router does", () => {
    const cases: [string, string, string][] = [
      ["/v2/a/manifests/tags/list", "tags", "a/manifests"],
      ["/v2/a/blobs/manifests/v1", "manifest", "a/blobs"],
      [`/v2/a/blobs/uploads/blobs/${DIGEST}`, "blob", "a/blobs/uploads"],
      ["/v2/a/manifests/blobs/uploads/", "upload-start", "a/manifests"],
      [`/v2/tags/list/referrers/${DIGEST}`, "referrers", "tags/list"],
    ];
    for (const [path, endpoint, name] of cases) {
      const result = requiredAccess(path.endsWith("uploads/") ? "POST" : "GET", path);
      expect(result.ok && [result.value.route.endpoint, result.value.route.name]).toEqual([endpoint, name]);
    }
  });

  it("rebuilds the upstream path and query from the validated parts", () => {
    const result = requiredAccess("PUT", "/v2/acme/app/blobs/uploads/u-1", `?_state=T-mL%3D%3D&digest=${encodeURIComponent(DIGEST)}`);
    expect(result.ok && result.value.upstreamPath).toBe(`/v2/acme/app/blobs/uploads/u-1?_state=T-mL%3D%3D&digest=${encodeURIComponent(DIGEST)}`);
  });
});

describe("requiredAccess: refusals", () => {
  it.each([
    ["GET", "/v2/acme/../app/manifests/v1", 400, "NAME_INVALID"],
    ["GET", "/v2/acme/./app/manifests/v1", 400, "NAME_INVALID"],
    ["GET", "/v2/../manifests/v1", 400, "NAME_INVALID"],
    ["GET", "/v2/acme%2Fapp/manifests/v1", 400, "NAME_INVALID"],
    ["GET", "/v2/acme%252Fapp/manifests/v1", 400, "NAME_INVALID"],
    ["GET", "/v2/acme/%2e%2e/manifests/v1", 400, "NAME_INVALID"],
    ["GET", "/v2/Acme/app/manifests/v1", 400, "NAME_INVALID"],
    ["GET", `/v2/${"a".repeat(256)}/manifests/v1`, 400, "NAME_INVALID"],
    ["GET", "/v2/acme//app/manifests/v1", 400, "NAME_INVALID"],
    ["GET", "/v2/acme/app/manifests/v1%2F..", 400, "TAG_INVALID"],
    ["GET", "/v2/acme/app/manifests/.hidden", 400, "TAG_INVALID"],
    ["GET", "/v2/acme/app/blobs/sha256:ab%2Fcd", 400, "DIGEST_INVALID"],
    ["GET", "/v2/acme/app/referrers/latest", 400, "DIGEST_INVALID"],
    ["PATCH", "/v2/acme/app/blobs/uploads/..", 404, "BLOB_UPLOAD_UNKNOWN"],
    ["PATCH", "/v2/acme/app/blobs/uploads/a%2F..", 404, "BLOB_UPLOAD_UNKNOWN"],
    ["GET", "/v2", 404, "UNSUPPORTED"],
    ["GET", "/v3/", 404, "UNSUPPORTED"],
    ["GET", "/v2/acme/app", 404, "UNSUPPORTED"],
    ["GET", "/v2/acme/app/blobs/uploads/a/b", 404, "UNSUPPORTED"],
    ["POST", "/v2/", 405, "UNSUPPORTED"],
    ["PATCH", "/v2/acme/app/manifests/v1", 405, "UNSUPPORTED"],
    ["PUT", `/v2/acme/app/blobs/${DIGEST}`, 405, "UNSUPPORTED"],
    ["GET", "/v2/acme/app/blobs/uploads/", 405, "UNSUPPORTED"],
    ["DELETE", "/v2/acme/app/tags/list", 405, "UNSUPPORTED"],
    ["OPTIONS", "/v2/acme/app/manifests/v1", 405, "UNSUPPORTED"],
    ["PUT", "/v2/_catalog", 405, "UNSUPPORTED"],
  ] as const)("%s %s → %i %s", (method, path, status, code) => {
    expect(refusal(requiredAccess(method, path))).toEqual([status, code]);
  });

  it.each([
    [`?from=Acme%2Fapp&mount=${DIGEST}`, "NAME_INVALID"],
    [`?from=acme%2F..%2Fapp&mount=${DIGEST}`, "NAME_INVALID"],
    ["?from=acme%2Fapp&mount=not-a-digest", "DIGEST_INVALID"],
    [`?from=acme%2Fapp&from=acme%2Fother&mount=${DIGEST}`, "UNSUPPORTED"],
    [`?from=acme%2Fapp&mount=${DIGEST}&mount=${OTHER_DIGEST}`, "UNSUPPORTED"],
  ])("refuses the mount query %s with %s", (search, code) => {
    expect(refusal(requiredAccess("POST", "/v2/acme/other/blobs/uploads/", search))[1]).toBe(code);
  });

  it("refuses an invalid digest on upload completion", () => {
    expect(refusal(requiredAccess("PUT", "/v2/acme/app/blobs/uploads/u-1", "?digest=sha256%3A..%2F"))).toEqual([400, "DIGEST_INVALID"]);
  });
});

describe("requiredAccess: parameters the upstream reads from elsewhere than the query", () => {
  // Distribution reads `mount`, `from`, `digest` and `_state` with Go's Request.FormValue, which also
  // parses a form-encoded (POST/PUT/PATCH) or multipart (any method) body, body values first.
  const FORM_TYPES = [
    "application/x-www-form-urlencoded",
    "Application/X-WWW-Form-URLEncoded; charset=utf-8",
    " application/x-www-form-urlencoded ",
    "application/x-www-form-urlencoded;;bad params still parse in Go",
    "multipart/form-data; boundary=x",
    "MULTIPART/FORM-DATA",
    "multipart/mixed; boundary=x",
    "application/octet-stream, application/x-www-form-urlencoded",
  ];
  const REQUESTS = [
    ["POST", "/v2/acme/app/blobs/uploads/", ""],
    ["PUT", "/v2/acme/app/blobs/uploads/u-1", `?_state=s&digest=${DIGEST}`],
    ["PATCH", "/v2/acme/app/blobs/uploads/u-1", "?_state=s"],
    ["GET", "/v2/acme/app/blobs/uploads/u-1", "?_state=s"],
    ["DELETE", "/v2/acme/app/blobs/uploads/u-1", "?_state=s"],
    ["PUT", "/v2/acme/app/manifests/v1", ""],
    ["GET", `/v2/acme/app/blobs/${DIGEST}`, ""],
    ["GET", "/v2/", ""],
  ] as const;

  it.each(FORM_TYPES)("refuses Content-Type %j on every endpoint with 415", (contentType) => {
    for (const [method, path, search] of REQUESTS) expect(refusal(requiredAccess(method, path, search, contentType)), `${method} ${path}`).toEqual([415, "UNSUPPORTED"]);
  });

  it("refuses a Content-Type Go would read differently: non-ASCII (Go trims U+0085) or control characters", () => {
    for (const contentType of ["\u00c2\u0085application/x-www-form-urlencoded", "application/octet-stream\u00a0", "application/\u212aoctet", "application/octet-stream\u000b"]) {
      expect(refusal(requiredAccess("POST", "/v2/acme/app/blobs/uploads/", "", contentType)), JSON.stringify(contentType)).toEqual([415, "UNSUPPORTED"]);
    }
  });

  it.each([null, "", "application/octet-stream", "application/vnd.oci.image.manifest.v1+json", "application/x-www-form-urlencoded-not"])("lets Content-Type %j through", (contentType) => {
    expect(requiredAccess("POST", "/v2/acme/app/blobs/uploads/", "", contentType).ok).toBe(true);
    expect(requiredAccess("PATCH", "/v2/acme/app/blobs/uploads/u-1", "?_state=s", contentType).ok).toBe(true);
  });

  it("from needs pull even without mount", () => {
    const result = requiredAccess("POST", "/v2/acme/app/blobs/uploads/", "?from=victim%2Fsecret");
    expect(scopesOf(result)).toEqual(["repository:acme/app:pull,push", "repository:victim/secret:pull"]);
    expect(result.ok && result.value.route.mountFrom).toBe("victim/secret");
  });

  it("from needs pull on any endpoint it is sent to", () => {
    expect(scopesOf(requiredAccess("PUT", "/v2/acme/app/blobs/uploads/u-1", `?_state=s&digest=${DIGEST}&from=victim%2Fsecret`))).toEqual([
      "repository:acme/app:pull,push",
      "repository:victim/secret:pull",
    ]);
    expect(scopesOf(requiredAccess("GET", "/v2/acme/app/manifests/v1", "?from=victim%2Fsecret"))).toEqual(["repository:acme/app:pull", "repository:victim/secret:pull"]);
    expect(refusal(requiredAccess("PATCH", "/v2/acme/app/blobs/uploads/u-1", "?_state=s&from=..%2Fx"))).toEqual([400, "NAME_INVALID"]);
  });

  it.each([
    ["?_state=a&_state=b", "PATCH", "/v2/acme/app/blobs/uploads/u-1"],
    ["?artifactType=a&artifactType=b", "GET", `/v2/acme/app/referrers/${DIGEST}`],
    [`?from=acme%2Fapp&fr%6Fm=victim%2Fsecret&mount=${DIGEST}`, "POST", "/v2/acme/app/blobs/uploads/"],
  ] as const)("refuses the repeated parameter in %s", (search, method, path) => {
    expect(refusal(requiredAccess(method, path, search))).toEqual([400, "UNSUPPORTED"]);
  });

  it("validates a digest wherever an upload carries one (monolithic POST, PATCH)", () => {
    expect(refusal(requiredAccess("POST", "/v2/acme/app/blobs/uploads/", "?digest=..%2Fx"))).toEqual([400, "DIGEST_INVALID"]);
    expect(refusal(requiredAccess("PATCH", "/v2/acme/app/blobs/uploads/u-1", "?_state=s&digest=x"))).toEqual([400, "DIGEST_INVALID"]);
    expect(requiredAccess("POST", "/v2/acme/app/blobs/uploads/", `?digest=${DIGEST}`).ok).toBe(true);
  });
});

describe("requiredAccess: nothing outside the grammar is forwarded", () => {
  const METHODS = ["GET", "HEAD", "PUT", "POST", "PATCH", "DELETE"];
  // Characters a hostile client would reach for: dots, slashes, escapes, case, and the grammar's own separators.
  const segmentChar = fc.constantFrom(..."aAz09._-~%2fF5eE:=+ ".split(""), "%2F", "%2e", "%252F", "..", "/");
  const hostile = fc.string({ unit: segmentChar, maxLength: 12 });
  const segment = fc.oneof(
    fc.constantFrom("manifests", "blobs", "uploads", "tags", "list", "referrers", "_catalog", "", ".", "..", DIGEST, "v1", "acme"),
    fc.stringMatching(/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/, { maxLength: 10 }),
    hostile,
  );
  const endpointSuffix = fc.oneof(
    fc.constant([]),
    fc.tuple(fc.constantFrom("manifests", "blobs", "referrers"), fc.oneof(segment, fc.constant(DIGEST))),
    fc.tuple(fc.constant("blobs"), fc.constant("uploads"), fc.oneof(segment, fc.constant(""))),
    fc.constant(["tags", "list"]),
  );
  const path = fc
    .tuple(fc.array(segment, { maxLength: 6 }), endpointSuffix)
    .map(([name, suffix]) => `/v2/${[...name, ...suffix].join("/")}`);
  const search = fc.constantFrom("", `?from=acme%2Fapp&mount=${DIGEST}`, "?from=..%2Fx&mount=sha256:1", "?_state=x", "?n=1&last=a");

  it("every forwarded path is made of grammar-valid parts only", () => {
    fc.assert(
      fc.property(fc.constantFrom(...METHODS), path, search, (method, p, s) => {
        const result = requiredAccess(method, p, s);
        if (!result.ok) return;
        const [upstreamPathname] = result.value.upstreamPath.split("?") as [string];
        expect(upstreamPathname).not.toMatch(/%|\/\.{1,2}(\/|$)|\/\/|[^A-Za-z0-9._\-/:=~+]/);
        if (result.value.route.name !== undefined) expect(isValidRepositoryName(result.value.route.name)).toBe(true);
        if (result.value.route.mountFrom !== undefined) expect(isValidRepositoryName(result.value.route.mountFrom)).toBe(true);
        // Re-reading what goes upstream yields the same decision: the upstream sees what was authorised.
        const again = requiredAccess(method, upstreamPathname, result.value.upstreamPath.slice(upstreamPathname.length));
        expect(again.ok && { route: again.value.route, scopes: again.value.scopes }).toEqual({ route: result.value.route, scopes: result.value.scopes });
      }),
      { numRuns: 5000 },
    );
  });

  it("every valid repository name is routed with that name", () => {
    const component = fc.stringMatching(/^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/, { maxLength: 20 });
    const name = fc.array(component, { minLength: 1, maxLength: 4 }).map((c) => c.join("/")).filter((n) => n.length <= 255);
    fc.assert(
      fc.property(name, (n) => {
        const result = requiredAccess("GET", `/v2/${n}/manifests/latest`);
        expect(result.ok && result.value.route.name).toBe(n);
      }),
    );
  });
});
