/**
 * HTTP request → required registry access, for every Distribution / OCI
 * endpoint. This is the proxy's trust boundary on the request side: a request is
 * only forwarded if it matches one of these routes with every component inside
 * the OCI grammar, and the token must grant every scope returned here.
 *
 * Routes are recognised from the end of the path, in the order Distribution's
 * router tries them, so a repository name that contains `manifests` or `blobs`
 * as a component is split exactly as the upstream will split it.
 */
import type { RegistryErrorCode } from "./errors.ts";
import { isValidRepositoryName } from "./names.ts";
import type { Result } from "./result.ts";
import type { ResourceScope } from "./scope.ts";

export type RegistryEndpoint =
  | "base"
  | "catalog"
  | "tags"
  | "manifest"
  | "blob"
  | "upload-start"
  | "upload"
  | "referrers";

export interface RegistryRoute {
  readonly endpoint: RegistryEndpoint;
  /** The repository, for every endpoint but `base` and `catalog`. */
  readonly name?: string;
  /** Tag or digest (manifests), digest (blobs, referrers), or upload id. */
  readonly reference?: string;
  /** The `from` parameter: source repository of a cross-repository mount (pull on it is required). */
  readonly mountFrom?: string;
}

export interface RequiredAccess {
  readonly route: RegistryRoute;
  /** Every scope the token must grant in full; empty for `/v2/` (any valid token). */
  readonly scopes: readonly ResourceScope[];
  /** The path and query to send upstream, rebuilt from what was validated. */
  readonly upstreamPath: string;
}

/** A refusal is answered as is: a Distribution error with this status and code. */
export type AccessResult = Result<RequiredAccess, { readonly status: number; readonly code: RegistryErrorCode; readonly message: string }>;

/** OCI tag grammar. */
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
/** OCI digest grammar (`algorithm:encoded`), bounded in length. */
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const MAX_DIGEST_LENGTH = 256;
/** Upload ids are opaque to clients; Distribution's are `[a-zA-Z0-9-_.=]+`. A dot segment is never one. */
const UPLOAD_ID = /^(?!\.{1,2}$)[a-zA-Z0-9._=~-]{1,256}$/;

const READ_METHODS = ["GET", "HEAD"];

export function isValidDigest(value: string): boolean {
  return value.length <= MAX_DIGEST_LENGTH && DIGEST.test(value);
}

export function isValidTag(value: string): boolean {
  return TAG.test(value);
}

type Failure = Extract<AccessResult, { ok: false }>;

function fail(status: number, code: RegistryErrorCode, message: string): Failure {
  return { ok: false, status, code, message };
}

const notFound = (): Failure => fail(404, "UNSUPPORTED", "no such registry endpoint");
const badMethod = (method: string): Failure => fail(405, "UNSUPPORTED", `method ${method} is not supported on this endpoint`);

function repositoryScope(name: string, actions: readonly string[]): ResourceScope {
  return { type: "repository", name, actions };
}

/** The actions a method needs on the repository it addresses, as Distribution's token auth has them. */
function actionsFor(method: string): readonly string[] | undefined {
  switch (method) {
    case "GET":
    case "HEAD":
      return ["pull"];
    case "POST":
    case "PUT":
    case "PATCH":
      return ["pull", "push"];
    case "DELETE":
      return ["delete"];
    default:
      return undefined;
  }
}

interface Matched {
  readonly endpoint: Exclude<RegistryEndpoint, "base" | "catalog">;
  readonly nameSegments: readonly string[];
  readonly reference?: string;
  readonly methods: readonly string[];
}

/** Splits `<name>/<endpoint…>` from the end, trying routes in Distribution's order. */
function matchRepositoryRoute(segments: readonly string[]): Matched | undefined {
  const n = segments.length;
  const at = (i: number): string | undefined => segments[n - i];
  if (at(2) === "tags" && at(1) === "list") {
    return { endpoint: "tags", nameSegments: segments.slice(0, n - 2), methods: READ_METHODS };
  }
  if (at(2) === "manifests") {
    return { endpoint: "manifest", nameSegments: segments.slice(0, n - 2), reference: at(1) as string, methods: [...READ_METHODS, "PUT", "DELETE"] };
  }
  if (at(2) === "blobs" && at(1) !== "uploads" && isValidDigest(at(1) as string)) {
    return { endpoint: "blob", nameSegments: segments.slice(0, n - 2), reference: at(1) as string, methods: [...READ_METHODS, "DELETE"] };
  }
  if (at(3) === "blobs" && at(2) === "uploads") {
    const id = at(1) as string;
    if (id === "") return { endpoint: "upload-start", nameSegments: segments.slice(0, n - 3), methods: ["POST"] };
    return { endpoint: "upload", nameSegments: segments.slice(0, n - 3), reference: id, methods: ["GET", "PATCH", "PUT", "DELETE"] };
  }
  if (at(2) === "blobs") {
    return { endpoint: "blob", nameSegments: segments.slice(0, n - 2), reference: at(1) as string, methods: [...READ_METHODS, "DELETE"] };
  }
  if (at(2) === "referrers") {
    return { endpoint: "referrers", nameSegments: segments.slice(0, n - 2), reference: at(1) as string, methods: ["GET"] };
  }
  return undefined;
}

function referenceProblem(endpoint: Matched["endpoint"], reference: string | undefined): Failure | undefined {
  if (reference === undefined) return undefined;
  switch (endpoint) {
    case "manifest":
      return isValidTag(reference) || isValidDigest(reference) ? undefined : fail(400, "TAG_INVALID", "manifest reference is neither a valid tag nor a valid digest");
    case "blob":
    case "referrers":
      return isValidDigest(reference) ? undefined : fail(400, "DIGEST_INVALID", "invalid digest");
    case "upload":
      return UPLOAD_ID.test(reference) ? undefined : fail(404, "BLOB_UPLOAD_UNKNOWN", "invalid upload id");
    default:
      return undefined;
  }
}

/** Query parameters whose repetition could let the proxy and the upstream read different values. */
const SINGLE_VALUED = ["mount", "from", "digest", "_state", "n", "last", "artifactType"];

/**
 * Why a request's `Content-Type` must not go upstream, if it must not.
 * Distribution reads `mount`, `from`, `digest` and `_state` with Go's
 * `Request.FormValue`, which also parses the body, and body values win over the
 * query: an `application/x-www-form-urlencoded` body (POST, PUT, PATCH) or a
 * `multipart/form-data` one (any method). No registry client sends either, so
 * both are refused on every endpoint rather than parsed the way Go would.
 * Go finds the media type as `ToLower(TrimSpace(before the first ";"))`, with
 * Unicode case and space rules (it trims U+0085, for one); outside printable
 * ASCII the two readings could differ, so such a value is refused too.
 */
function contentTypeProblem(contentType: string | null): Failure | undefined {
  if (contentType === null) return undefined;
  if (!/^[\t\x20-\x7e]*$/.test(contentType)) return fail(415, "UNSUPPORTED", "Content-Type must be printable ASCII");
  // A repeated header arrives joined with ", "; refuse if any of its values is a form type.
  for (const value of contentType.split(",")) {
    const mediaType = (value.split(";")[0] as string).trim().toLowerCase();
    if (mediaType === "application/x-www-form-urlencoded" || mediaType.startsWith("multipart/")) {
      return fail(415, "UNSUPPORTED", "form-encoded and multipart bodies are not accepted: the registry would read request parameters from them");
    }
  }
  return undefined;
}

/**
 * Decides what a registry API request needs, or why it must not be forwarded.
 * `pathname` is the raw path as received (percent-encoding intact), `search`
 * the raw query string, `contentType` the request's `Content-Type` header
 * (null when absent). The query sent upstream is re-serialised from what was
 * parsed here, so the upstream parses the same pairs.
 */
export function requiredAccess(method: string, pathname: string, search = "", contentType: string | null = null): AccessResult {
  if (!pathname.startsWith("/v2/")) return notFound();
  const contentTypeFailure = contentTypeProblem(contentType);
  if (contentTypeFailure) return contentTypeFailure;
  const query = new URLSearchParams(search);
  for (const key of SINGLE_VALUED) {
    if (query.getAll(key).length > 1) return fail(400, "UNSUPPORTED", `query parameter ${key} given more than once`);
  }
  const rest = pathname.slice("/v2/".length);
  const withQuery = (path: string): string => {
    const q = query.toString();
    return q === "" ? path : `${path}?${q}`;
  };

  if (rest === "") {
    if (!READ_METHODS.includes(method)) return badMethod(method);
    return { ok: true, value: { route: { endpoint: "base" }, scopes: [], upstreamPath: "/v2/" } };
  }
  if (rest === "_catalog") {
    if (!READ_METHODS.includes(method)) return badMethod(method);
    return { ok: true, value: { route: { endpoint: "catalog" }, scopes: [{ type: "registry", name: "catalog", actions: ["*"] }], upstreamPath: withQuery("/v2/_catalog") } };
  }

  const matched = matchRepositoryRoute(rest.split("/"));
  if (matched === undefined) return notFound();
  const name = matched.nameSegments.join("/");
  if (!isValidRepositoryName(name)) return fail(400, "NAME_INVALID", "invalid repository name");
  const referenceFailure = referenceProblem(matched.endpoint, matched.reference);
  if (referenceFailure) return referenceFailure;
  if (!matched.methods.includes(method)) return badMethod(method);
  const actions = actionsFor(method);
  if (actions === undefined) return badMethod(method);

  const scopes: ResourceScope[] = [repositoryScope(name, actions)];
  // `from` names a repository to read from wherever it appears (Distribution's own
  // authorizer asks pull on it for any request), so it needs pull, mount or not.
  const from = query.get("from") ?? "";
  if (from !== "") {
    if (!isValidRepositoryName(from)) return fail(400, "NAME_INVALID", "invalid repository name in from");
    if (from !== name) scopes.push(repositoryScope(from, ["pull"]));
  }
  const mountFrom = from === "" ? undefined : from;
  if (matched.endpoint === "upload-start" && query.has("mount")) {
    if (from === "") {
      // Without `from`, a registry may mount from any repository it likes
      // (OCI "automatic content discovery"); no scope can authorise that, so
      // the request goes upstream as a plain upload start instead.
      query.delete("mount");
    } else if (!isValidDigest(query.get("mount") as string)) {
      return fail(400, "DIGEST_INVALID", "invalid digest in mount");
    }
  }
  if ((matched.endpoint === "upload" || matched.endpoint === "upload-start") && query.has("digest") && !isValidDigest(query.get("digest") as string)) {
    return fail(400, "DIGEST_INVALID", "invalid digest");
  }

  const suffix = matched.endpoint === "upload-start" ? "blobs/uploads/" : rest.slice(name.length + 1);
  const route: RegistryRoute = {
    endpoint: matched.endpoint,
    name,
    ...(matched.reference !== undefined && { reference: matched.reference }),
    ...(mountFrom !== undefined && { mountFrom }),
  };
  return { ok: true, value: { route, scopes, upstreamPath: withQuery(`/v2/${name}/${suffix}`) } };
}
