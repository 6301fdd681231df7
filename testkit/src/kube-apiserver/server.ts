/**
 * A stand-in for kube-apiserver on loopback that speaks its wire format:
 * list (with limit/continue) and watch (resourceVersion resumption, bookmarks,
 * 410 Gone after compaction, selector transitions), get/create/update/patch/
 * delete with 404/409/422 Status bodies, bearer-token authentication and RBAC,
 * server-side TokenRequest minting service-account JWTs, and the
 * service-account issuer's OIDC discovery + JWKS. A client under test reaches
 * it through an ordinary kubeconfig and runs unmodified.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import type { JWK } from "jose";
import { startOidcIssuer } from "../oidc-issuer.ts";
import { applyJsonPatch, applyMergePatch } from "./patch.ts";
import { allowAll, forbidden, type Authorizer } from "./rbac.ts";
import { requestInfo, type RequestInfo } from "./request-info.ts";
import { NAMESPACES, SERVICE_ACCOUNTS, type KubeObject, type ResourceType } from "./resources.ts";
import { parseFieldSelector, parseLabelSelector } from "./selectors.ts";
import { badRequest, StatusError, type StatusReason } from "./status.ts";
import { ObjectStore, type WatchFilter } from "./store.ts";
import { DEFAULT_API_AUDIENCE, issueToken } from "./token-request.ts";

export interface KubeApiServerOptions {
  readonly host?: string;
  readonly port?: number;
  /** `--service-account-issuer`; defaults to the server's own URL, so discovery is found at the issuer. */
  readonly issuer?: string;
  readonly apiAudiences?: readonly string[];
  readonly maxTokenExpirationSeconds?: number;
  /** How often watches that asked for bookmarks get one (a real apiserver: about every minute). */
  readonly bookmarkIntervalMs?: number;
  /** Upper bound on a watch's life (the apiserver's `--min-request-timeout` is 1800 s). */
  readonly maxWatchSeconds?: number;
  readonly historyLimit?: number;
  /** Emulate the ServiceAccounts controller (a `default` ServiceAccount per namespace). Default true. */
  readonly defaultServiceAccounts?: boolean;
}

export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  readonly verb: string;
  readonly resource: string;
  readonly subresource?: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly user: string;
  status: number;
}

export interface FailureMatch {
  readonly user?: string;
  readonly verb?: string;
  readonly resource?: string;
  readonly subresource?: string;
}

export interface KubeApiServer {
  readonly url: string;
  /** The service-account issuer (`iss` of minted tokens). */
  readonly issuer: string;
  /** Bearer token of a user allowed everything. */
  readonly adminToken: string;
  /** Direct access to the stored objects, as etcd would give; changes made here reach watches. */
  readonly store: ObjectStore;
  /** Every API request (not discovery), in arrival order. */
  readonly requests: RequestRecord[];
  /** TCP connections accepted so far (clients that reuse connections keep this low). */
  connections(): number;
  /** Registers a bearer token for `user`; without an authorizer the user may do everything. */
  addUser(token: string, user: string, authorize?: Authorizer): void;
  /** A kubeconfig (JSON, which is YAML) for `token` (default: the admin). */
  kubeconfig(token?: string): string;
  writeKubeconfig(path: string, token?: string): Promise<string>;
  /** The service-account signing keys as `/openid/v1/jwks` serves them. */
  jwks(): { keys: JWK[] };
  /** The next `count` requests matching `match` fail with `code`, before anything is written. */
  failNext(match: FailureMatch, code: number, count?: number): void;
  /** Ends every open watch, as an apiserver restart or a load balancer would. */
  closeWatches(): void;
  /** Compacts the event history: watches resuming from an older resourceVersion get 410. */
  compact(): void;
  close(): Promise<void>;
}

const REASONS: Readonly<Record<number, StatusReason>> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  409: "Conflict",
  410: "Expired",
  422: "Invalid",
  500: "InternalError",
  503: "ServiceUnavailable",
};

const MAX_BODY_BYTES = 3 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) reject(new StatusError(413, "BadRequest", "Request entity too large: limit is 3145728"));
      else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = await readBody(req);
  if (text.trim() === "") return {};
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== "object" || value === null) throw new Error("not an object");
    return value as Record<string, unknown>;
  } catch (error) {
    throw badRequest(`error decoding request body: ${(error as Error).message}`);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, contentType = "application/json"): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": contentType, "Content-Length": Buffer.byteLength(text), "Cache-Control": "no-cache, private" });
  res.end(text);
}

/** List items carry no apiVersion/kind on the wire; the list does. */
function listBody(type: ResourceType, items: readonly KubeObject[], resourceVersion: string, cont?: string): unknown {
  return {
    kind: `${type.kind}List`,
    apiVersion: type.group === "" ? type.version : `${type.group}/${type.version}`,
    metadata: { resourceVersion, ...(cont !== undefined && { continue: cont }) },
    items: items.map(({ apiVersion: _a, kind: _k, ...rest }) => rest),
  };
}

function filterFor(type: ResourceType, info: RequestInfo, url: URL): WatchFilter {
  const labels = parseLabelSelector(url.searchParams.get("labelSelector"));
  const fields = parseFieldSelector(url.searchParams.get("fieldSelector"));
  return {
    ...(info.namespace !== undefined && { namespace: info.namespace }),
    matches: (obj) =>
      labels(obj.metadata.labels ?? {}) &&
      fields({ "metadata.name": obj.metadata.name, ...(obj.metadata.namespace !== undefined && { "metadata.namespace": obj.metadata.namespace }), ...type.fields?.(obj) }),
  };
}

export async function startKubeApiServer(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  const host = options.host ?? "127.0.0.1";
  const store = new ObjectStore({
    ...(options.historyLimit !== undefined && { historyLimit: options.historyLimit }),
    ...(options.defaultServiceAccounts !== undefined && { defaultServiceAccounts: options.defaultServiceAccounts }),
  });
  // The service-account signing keys: the local OIDC issuer holds and uses them.
  const signer = await startOidcIssuer({ host });
  const users = new Map<string, { user: string; authorize: Authorizer }>();
  const adminToken = randomBytes(24).toString("base64url");
  users.set(adminToken, { user: "kubernetes-admin", authorize: allowAll });
  const requests: RequestRecord[] = [];
  const failures: { match: FailureMatch; code: number; remaining: number }[] = [];
  /** Open watch streams and how to end each cleanly. */
  const openWatches = new Map<ServerResponse, () => void>();
  let url = "";
  let issuer = "";

  const discovery = (): unknown => ({
    issuer,
    jwks_uri: `${url}/openid/v1/jwks`,
    response_types_supported: ["id_token"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: [signer.alg],
  });

  const injectedFailure = (info: RequestInfo, user: string): StatusError | undefined => {
    const index = failures.findIndex(
      (f) =>
        f.remaining > 0 &&
        (f.match.user === undefined || f.match.user === user) &&
        (f.match.verb === undefined || f.match.verb === info.verb) &&
        (f.match.resource === undefined || f.match.resource === info.type.resource) &&
        (f.match.subresource === undefined || f.match.subresource === info.subresource),
    );
    if (index < 0) return undefined;
    const failure = failures[index] as (typeof failures)[number];
    failure.remaining--;
    return new StatusError(failure.code, REASONS[failure.code] ?? "InternalError", `injected failure (${failure.code})`);
  };

  const watch = (res: ServerResponse, info: RequestInfo, url: URL): void => {
    const filter = filterFor(info.type, info, url);
    res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked", "Cache-Control": "no-cache, private" });
    const write = (type: string, object: unknown): void => {
      res.write(`${JSON.stringify({ type, object })}\n`);
    };
    let unsubscribe = (): void => undefined;
    const timers: NodeJS.Timeout[] = [];
    const end = (): void => {
      unsubscribe();
      for (const t of timers) clearInterval(t);
      openWatches.delete(res);
      res.end();
    };
    try {
      unsubscribe = store.watch(info.type, filter, url.searchParams.get("resourceVersion") ?? undefined, (event) => write(event.type, event.object));
    } catch (error) {
      if (!(error instanceof StatusError)) throw error;
      // A too-old resourceVersion is reported inside the stream, as an ERROR event.
      write("ERROR", error.toStatus());
      end();
      return;
    }
    openWatches.set(res, end);
    if (url.searchParams.get("allowWatchBookmarks") === "true") {
      const apiVersion = info.type.group === "" ? info.type.version : `${info.type.group}/${info.type.version}`;
      timers.push(setInterval(() => write("BOOKMARK", { kind: info.type.kind, apiVersion, metadata: { resourceVersion: store.resourceVersion, creationTimestamp: null } }), options.bookmarkIntervalMs ?? 5000));
    }
    const maxSeconds = options.maxWatchSeconds ?? 1800;
    const requested = Number(url.searchParams.get("timeoutSeconds") ?? maxSeconds);
    timers.push(setTimeout(end, Math.min(Number.isFinite(requested) && requested > 0 ? requested : maxSeconds, maxSeconds) * 1000));
    res.on("close", end);
  };

  const api = async (req: IncomingMessage, res: ServerResponse, url: URL, info: RequestInfo): Promise<void> => {
    const { type, namespace, name } = info;
    switch (info.verb) {
      case "get":
        return sendJson(res, 200, store.get(type, namespace, name as string));
      case "list": {
        const all = store.list(type, filterFor(type, info, url));
        const rv = store.resourceVersion;
        const limit = Number(url.searchParams.get("limit") ?? 0);
        const cont = url.searchParams.get("continue");
        let start = 0;
        if (cont) {
          const after = String(JSON.parse(Buffer.from(cont, "base64url").toString("utf8")).after ?? "");
          start = all.findIndex((o) => `${o.metadata.namespace ?? ""}/${o.metadata.name}` > after);
          if (start < 0) start = all.length;
        }
        const page = limit > 0 ? all.slice(start, start + limit) : all.slice(start);
        const last = page[page.length - 1];
        const more = limit > 0 && start + limit < all.length && last !== undefined;
        const next = more ? Buffer.from(JSON.stringify({ after: `${last.metadata.namespace ?? ""}/${last.metadata.name}` })).toString("base64url") : undefined;
        return sendJson(res, 200, listBody(type, page, rv, next));
      }
      case "watch":
        return watch(res, info, url);
      case "create": {
        const body = await readJsonBody(req);
        if (info.subresource === "token") {
          const sa = store.get(SERVICE_ACCOUNTS, namespace, name as string);
          return sendJson(res, 201, await issueToken(signer, sa, body, { issuer, apiAudiences: options.apiAudiences ?? [DEFAULT_API_AUDIENCE], ...(options.maxTokenExpirationSeconds !== undefined && { maxExpirationSeconds: options.maxTokenExpirationSeconds }) }));
        }
        return sendJson(res, 201, store.create(type, namespace, body as unknown as KubeObject));
      }
      case "update":
        return sendJson(res, 200, store.update(type, namespace, name as string, (await readJsonBody(req)) as unknown as KubeObject));
      case "patch": {
        const contentType = (req.headers["content-type"] ?? "").split(";")[0]?.trim();
        const text = await readBody(req);
        let patch: unknown;
        try {
          patch = JSON.parse(text);
        } catch (error) {
          throw badRequest(`error decoding patch: ${(error as Error).message}`);
        }
        const current = store.get(type, namespace, name as string);
        let patched: unknown;
        if (contentType === "application/merge-patch+json") patched = applyMergePatch(current, patch);
        else if (contentType === "application/json-patch+json") patched = applyJsonPatch(current, patch);
        else throw new StatusError(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json`);
        return sendJson(res, 200, store.update(type, namespace, name as string, patched as KubeObject));
      }
      case "delete": {
        const body = await readJsonBody(req);
        const pre = (body["preconditions"] ?? {}) as { uid?: string; resourceVersion?: string };
        const gone = store.delete(type, namespace, name as string, pre);
        return sendJson(res, 200, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details: { name, ...(type.group !== "" && { group: type.group }), kind: type.resource, uid: gone.metadata.uid } });
      }
      default:
        throw new StatusError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://stand-in");
    const method = req.method ?? "GET";
    if (method === "GET") {
      switch (url.pathname) {
        case "/.well-known/openid-configuration":
          return sendJson(res, 200, discovery());
        case "/openid/v1/jwks":
          return sendJson(res, 200, signer.jwks(), "application/jwk-set+json");
        case "/version":
          return sendJson(res, 200, { major: "1", minor: "33", gitVersion: "v1.33.0-stand-in", platform: "linux/amd64" });
        case "/healthz":
        case "/livez":
        case "/readyz":
          res.writeHead(200, { "Content-Type": "text/plain" });
          res.end("ok");
          return;
      }
    }
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1];
    const identity = bearer !== undefined ? users.get(bearer) : undefined;
    if (!identity) throw new StatusError(401, "Unauthorized", "Unauthorized");
    const info = requestInfo(method, url);
    const record: RequestRecord = {
      method,
      path: url.pathname,
      verb: info.verb,
      resource: info.type.resource,
      ...(info.subresource !== undefined && { subresource: info.subresource }),
      ...(info.namespace !== undefined && { namespace: info.namespace }),
      ...(info.name !== undefined && { name: info.name }),
      user: identity.user,
      status: 0,
    };
    requests.push(record);
    res.on("finish", () => {
      record.status = res.statusCode;
    });
    const attributes = {
      user: identity.user,
      verb: info.verb,
      apiGroup: info.type.group,
      resource: info.type.resource,
      ...(info.subresource !== undefined && { subresource: info.subresource }),
      ...(info.namespace !== undefined && { namespace: info.namespace }),
      ...(info.name !== undefined && { name: info.name }),
    };
    if (!identity.authorize(attributes)) throw forbidden(attributes);
    const failure = injectedFailure(info, identity.user);
    if (failure) throw failure;
    await api(req, res, url, info);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const status = error instanceof StatusError ? error.toStatus() : new StatusError(500, "InternalError", `Internal error occurred: ${String(error)}`).toStatus();
      if (res.headersSent) res.end();
      else sendJson(res, status.code, status);
    });
  });
  let connections = 0;
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, host, resolve));
  url = `http://${host}:${(server.address() as AddressInfo).port}`;
  issuer = options.issuer ?? url;

  const kubeconfig = (token = adminToken): string =>
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      // client-node only speaks plain http to a server marked insecure-skip-tls-verify.
      clusters: [{ name: "stand-in", cluster: { server: url, "insecure-skip-tls-verify": true } }],
      users: [{ name: "user", user: { token } }],
      contexts: [{ name: "stand-in", context: { cluster: "stand-in", user: "user", namespace: "default" } }],
      "current-context": "stand-in",
    });

  for (const name of ["default", "kube-system", "kube-public"]) store.create(NAMESPACES, undefined, { metadata: { name } } as KubeObject);

  return {
    url,
    issuer,
    adminToken,
    store,
    requests,
    connections: () => connections,
    addUser: (token, user, authorize = allowAll) => {
      users.set(token, { user, authorize });
    },
    kubeconfig,
    writeKubeconfig: async (path, token) => {
      await writeFile(path, kubeconfig(token), { mode: 0o600 });
      return path;
    },
    jwks: () => signer.jwks(),
    failNext: (match, code, count = 1) => {
      failures.push({ match, code, remaining: count });
    },
    closeWatches: () => {
      for (const end of [...openWatches.values()]) end();
    },
    compact: () => store.compact(),
    close: async () => {
      for (const res of openWatches.keys()) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await signer.close();
    },
  };
}
