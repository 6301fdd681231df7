/**
 * A local OIDC issuer on loopback: the faithful stand-in for GitHub's and a
 * cluster's issuers, which can't be reached here. It serves real discovery and
 * JWKS documents and mints tokens with the real claim shapes.
 *
 * Test control endpoints under each issuer URL (never part of a real issuer) let
 * tests that run in another process — inside workerd — mint tokens and steer it:
 *   POST /_test/mint      {claims, header?, expiresIn?, key?}  → {token}
 *   POST /_test/rotate    new signing key; the old one leaves the JWKS
 *   POST /_test/down      {down: boolean}: discovery/JWKS answer 503
 *   POST /_test/delay     {discoveryMs?, jwksMs?}: discovery/JWKS answer that late (a slow issuer)
 *   GET  /_test/stats     {discovery, jwks} request counts
 *   POST /_test/reset-stats
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createPublicKey, randomUUID, type JsonWebKey as NodeJsonWebKey } from "node:crypto";
import { exportJWK, generateKeyPair, SignJWT, type JWK, type CryptoKey } from "jose";
import { buildkiteClaims, circleciClaims, circleciIssuerPath, gitlabClaims, type BuildkiteTokenOptions, type CircleciTokenOptions, type GitlabTokenOptions } from "./claim-shapes/index.ts";

export type IssuerAlg = "RS256" | "ES256";

export interface MintOptions {
  /** Lifetime in seconds (default 300, GitHub's). Negative values mint expired tokens. */
  readonly expiresIn?: number;
  /** Extra or overriding protected-header fields (`alg` cannot be changed this way). */
  readonly header?: Record<string, unknown>;
  /** Seconds since the epoch to treat as now; defaults to the real clock. */
  readonly now?: number;
}

export interface OidcIssuer {
  /** Base URL, also the `iss` of every minted token. */
  readonly url: string;
  readonly alg: IssuerAlg;
  mint(claims: Record<string, unknown>, options?: MintOptions): Promise<string>;
  github(options?: GithubTokenOptions, mint?: MintOptions): Promise<string>;
  kubernetes(options: KubernetesTokenOptions, mint?: MintOptions): Promise<string>;
  /** A GitLab CI ID token (claim-shapes/gitlab.ts); 1 h, a job's default timeout, unless `mint` says otherwise. */
  gitlab(options?: GitlabTokenOptions, mint?: MintOptions): Promise<string>;
  /** A Buildkite agent token (claim-shapes/buildkite.ts); 5 minutes. */
  buildkite(options?: BuildkiteTokenOptions, mint?: MintOptions): Promise<string>;
  /**
   * A CircleCI token (claim-shapes/circleci.ts), 1 h, from this server's issuer
   * for that organization: `circleciIssuer(orgId)`, shaped like CircleCI's
   * `https://oidc.circleci.com/org/<org-id>` (own keys, like any path prefix).
   */
  circleci(options: CircleciTokenOptions, mint?: MintOptions): Promise<string>;
  circleciIssuer(organizationId: string): string;
  /** Replaces the signing key; the JWKS then serves only the new key (plus `keepOld` ones). */
  rotate(keepOld?: boolean): Promise<void>;
  setDown(down: boolean): void;
  readonly stats: { discovery: number; jwks: number };
  resetStats(): void;
  /** The public JWKS as served. */
  jwks(): { keys: JWK[] };
  /** The current public key as SPKI PEM (for `staticKeys` providers). */
  publicKeyPem(): Promise<string>;
  close(): Promise<void>;
}

export interface IssuerOptions {
  readonly alg?: IssuerAlg;
  readonly host?: string;
  readonly port?: number;
  /** Path under the host, e.g. `/gh` → issuer `http://127.0.0.1:PORT/gh`. */
  readonly path?: string;
  /** `Cache-Control` sent with the JWKS. */
  readonly jwksCacheControl?: string;
}

interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

async function newKey(alg: IssuerAlg): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = randomUUID();
  return { kid, privateKey, publicJwk: { ...publicJwk, kid, alg, use: "sig" } };
}

export interface GithubTokenOptions {
  readonly owner?: string;
  readonly ownerId?: string;
  readonly repository?: string;
  readonly repositoryId?: string;
  readonly ref?: string;
  readonly audience?: string | string[];
  readonly workflow?: string;
  readonly eventName?: string;
  readonly environment?: string;
}

/** The claims GitHub Actions puts in its OIDC tokens (token.actions.githubusercontent.com). */
export function githubClaims(options: GithubTokenOptions = {}): Record<string, unknown> {
  const owner = options.owner ?? "acme";
  const repository = options.repository ?? `${owner}/app`;
  const ref = options.ref ?? "refs/heads/main";
  const workflow = options.workflow ?? "build";
  const runId = String(Math.floor(Math.random() * 1e10));
  return {
    jti: randomUUID(),
    sub: options.environment ? `repo:${repository}:environment:${options.environment}` : `repo:${repository}:ref:${ref}`,
    aud: options.audience ?? `https://github.com/${owner}`,
    ref,
    sha: "3f786850e387550fdab836ed7e6dc881de23001b",
    repository,
    repository_owner: owner,
    repository_owner_id: options.ownerId ?? "1234567",
    repository_visibility: "private",
    repository_id: options.repositoryId ?? "7654321",
    run_id: runId,
    run_number: "42",
    run_attempt: "1",
    actor: "octocat",
    actor_id: "583231",
    workflow,
    workflow_ref: `${repository}/.github/workflows/${workflow}.yml@${ref}`,
    workflow_sha: "3f786850e387550fdab836ed7e6dc881de23001b",
    job_workflow_ref: `${repository}/.github/workflows/${workflow}.yml@${ref}`,
    job_workflow_sha: "3f786850e387550fdab836ed7e6dc881de23001b",
    head_ref: "",
    base_ref: "",
    event_name: options.eventName ?? "push",
    ref_type: "branch",
    ref_protected: "true",
    runner_environment: "github-hosted",
    ...(options.environment !== undefined && { environment: options.environment }),
  };
}

export interface KubernetesTokenOptions {
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly audience?: string | string[];
  readonly podName?: string;
}

/** The claims of a projected / TokenRequest service-account token. */
export function kubernetesClaims(options: KubernetesTokenOptions): Record<string, unknown> {
  const saUid = randomUUID();
  return {
    aud: options.audience ?? ["https://kubernetes.default.svc.cluster.local"],
    sub: `system:serviceaccount:${options.namespace}:${options.serviceAccount}`,
    jti: randomUUID(),
    "kubernetes.io": {
      namespace: options.namespace,
      serviceaccount: { name: options.serviceAccount, uid: saUid },
      ...(options.podName !== undefined && { pod: { name: options.podName, uid: randomUUID() } }),
      node: { name: "node-1", uid: randomUUID() },
    },
  };
}

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      try {
        const text = Buffer.concat(chunks).toString("utf8");
        resolve(text === "" ? {} : (JSON.parse(text) as Record<string, unknown>));
      } catch (error) {
        reject(error as Error);
      }
    });
    req.on("error", reject);
  });
}

const sleep = (ms: number) => (ms > 0 ? new Promise<void>((resolve) => setTimeout(resolve, ms)) : Promise.resolve());

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "Content-Type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

interface Tenant {
  readonly url: string;
  keys: SigningKey[];
  down: boolean;
  delay: { discoveryMs: number; jwksMs: number };
  readonly stats: { discovery: number; jwks: number };
}

const TEST_PATHS = ["/.well-known/openid-configuration", "/.well-known/jwks", "/_test/mint", "/_test/rotate", "/_test/down", "/_test/delay", "/_test/stats", "/_test/reset-stats", "/_test/private-jwk"];

/**
 * Starts the issuer. Besides its own issuer URL, every other path prefix on the
 * same server is an independent issuer of its own (own keys, stats, down flag),
 * created on first use: `${origin}/t-123` is an issuer whose discovery lives at
 * `${origin}/t-123/.well-known/openid-configuration`. Tests that count fetches or
 * rotate keys take a fresh prefix and so never disturb each other.
 */
export async function startOidcIssuer(options: IssuerOptions = {}): Promise<OidcIssuer> {
  const alg = options.alg ?? "RS256";
  const host = options.host ?? "127.0.0.1";
  const basePath = (options.path ?? "").replace(/\/$/, "");
  let origin = "";
  // Promises, so concurrent first requests for a new issuer share one key.
  const tenants = new Map<string, Promise<Tenant>>();

  const tenantFor = (prefix: string): Promise<Tenant> => {
    let tenant = tenants.get(prefix);
    if (!tenant) {
      tenant = newKey(alg).then((key) => ({ url: `${origin}${prefix}`, keys: [key], down: false, delay: { discoveryMs: 0, jwksMs: 0 }, stats: { discovery: 0, jwks: 0 } }));
      tenants.set(prefix, tenant);
    }
    return tenant;
  };
  const current = (t: Tenant): SigningKey => t.keys[0] as SigningKey;
  const jwksOf = (t: Tenant) => ({ keys: t.keys.map((k) => k.publicJwk) });

  const mintFor = async (t: Tenant, claims: Record<string, unknown>, mintOptions: MintOptions = {}): Promise<string> => {
    const now = mintOptions.now ?? Math.floor(Date.now() / 1000);
    const key = current(t);
    const payload = { iss: t.url, iat: now, nbf: now, exp: now + (mintOptions.expiresIn ?? 300), ...claims };
    return new SignJWT(payload).setProtectedHeader({ typ: "JWT", kid: key.kid, ...mintOptions.header, alg }).sign(key.privateKey);
  };
  const rotateTenant = async (t: Tenant, keepOld = false): Promise<void> => {
    const next = await newKey(alg);
    t.keys = keepOld ? [next, ...t.keys] : [next];
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? "/").split("?")[0] as string;
      const suffix = TEST_PATHS.find((p) => path.endsWith(p));
      if (suffix === undefined) return send(res, 404, { error: "not found" });
      const t = await tenantFor(path.slice(0, path.length - suffix.length));
      switch (suffix) {
        case "/.well-known/openid-configuration":
          t.stats.discovery++;
          await sleep(t.delay.discoveryMs);
          if (t.down) return send(res, 503, { error: "unavailable" });
          return send(res, 200, {
            issuer: t.url,
            jwks_uri: `${t.url}/.well-known/jwks`,
            subject_types_supported: ["public", "pairwise"],
            response_types_supported: ["id_token"],
            claims_supported: ["sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "repository", "repository_owner"],
            id_token_signing_alg_values_supported: [alg],
            scopes_supported: ["openid"],
          });
        case "/.well-known/jwks":
          t.stats.jwks++;
          await sleep(t.delay.jwksMs);
          if (t.down) return send(res, 503, { error: "unavailable" });
          return send(res, 200, jwksOf(t), options.jwksCacheControl ? { "Cache-Control": options.jwksCacheControl } : {});
        case "/_test/mint": {
          const body = await readJson(req);
          const token = await mintFor(t, (body["claims"] as Record<string, unknown>) ?? {}, {
            ...(typeof body["expiresIn"] === "number" && { expiresIn: body["expiresIn"] }),
            ...(typeof body["now"] === "number" && { now: body["now"] }),
            ...(typeof body["header"] === "object" && body["header"] !== null && { header: body["header"] as Record<string, unknown> }),
          });
          return send(res, 200, { token });
        }
        case "/_test/rotate":
          await rotateTenant(t, (await readJson(req))["keepOld"] === true);
          return send(res, 200, { kid: current(t).kid });
        case "/_test/down":
          t.down = (await readJson(req))["down"] === true;
          return send(res, 200, { down: t.down });
        case "/_test/delay": {
          const body = await readJson(req);
          const ms = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v > 0 ? v : 0);
          t.delay = { discoveryMs: ms(body["discoveryMs"]), jwksMs: ms(body["jwksMs"]) };
          return send(res, 200, t.delay);
        }
        case "/_test/stats":
          return send(res, 200, t.stats);
        case "/_test/reset-stats":
          t.stats.discovery = 0;
          t.stats.jwks = 0;
          return send(res, 200, t.stats);
        default: // "/_test/private-jwk": lets a test sign as this issuer (e.g. forged headers)
          return send(res, 200, { alg, kid: current(t).kid, jwk: await exportJWK(current(t).privateKey) });
      }
    })().catch((error: unknown) => send(res, 500, { error: String(error) }));
  });

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, host, resolve));
  const { port } = server.address() as AddressInfo;
  origin = `http://${host}:${port}`;
  const main = await tenantFor(basePath);

  return {
    url: main.url,
    alg,
    mint: (claims, m) => mintFor(main, claims, m),
    github: (gh, m) => mintFor(main, githubClaims(gh), m),
    kubernetes: (k8s, m) => mintFor(main, kubernetesClaims(k8s), m),
    gitlab: (gl, m) => mintFor(main, gitlabClaims(gl), { expiresIn: 3600, ...m }),
    buildkite: (bk, m) => mintFor(main, buildkiteClaims(bk), m),
    circleci: async (cc, m) => mintFor(await tenantFor(`${basePath}${circleciIssuerPath(cc.organizationId)}`), circleciClaims(cc), { expiresIn: 3600, ...m }),
    circleciIssuer: (organizationId) => `${origin}${basePath}${circleciIssuerPath(organizationId)}`,
    rotate: (keepOld) => rotateTenant(main, keepOld),
    setDown: (value) => {
      main.down = value;
    },
    stats: main.stats,
    resetStats: () => {
      main.stats.discovery = 0;
      main.stats.jwks = 0;
    },
    jwks: () => jwksOf(main),
    publicKeyPem: async () => {
      return createPublicKey({ key: current(main).publicJwk as NodeJsonWebKey, format: "jwk" }).export({ type: "spki", format: "pem" }).toString();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
