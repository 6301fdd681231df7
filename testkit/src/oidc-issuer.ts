/**
 * A local OIDC issuer on loopback: the faithful stand-in for GitHub's and a
 * cluster's issuers, which can't be reached here. It serves real discovery and
 * JWKS documents and mints tokens with the real claim shapes.
 *
 * Test control endpoints (never part of a real issuer) let tests that run in
 * another process — inside workerd — mint tokens and steer the issuer:
 *   POST /_test/mint      {claims, header?, expiresIn?, key?}  → {token}
 *   POST /_test/rotate    new signing key; the old one leaves the JWKS
 *   POST /_test/down      {down: boolean}: discovery/JWKS answer 503
 *   GET  /_test/stats     {discovery, jwks} request counts
 *   POST /_test/reset-stats
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { exportJWK, generateKeyPair, SignJWT, type JWK, type CryptoKey } from "jose";

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

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "Content-Type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

export async function startOidcIssuer(options: IssuerOptions = {}): Promise<OidcIssuer> {
  const alg = options.alg ?? "RS256";
  const host = options.host ?? "127.0.0.1";
  const basePath = (options.path ?? "").replace(/\/$/, "");
  let keys: SigningKey[] = [await newKey(alg)];
  let down = false;
  const stats = { discovery: 0, jwks: 0 };
  let url = "";

  const current = (): SigningKey => keys[0] as SigningKey;
  const jwks = () => ({ keys: keys.map((k) => k.publicJwk) });

  const mint = async (claims: Record<string, unknown>, mintOptions: MintOptions = {}): Promise<string> => {
    const now = mintOptions.now ?? Math.floor(Date.now() / 1000);
    const key = current();
    const payload = { iss: url, iat: now, nbf: now, exp: now + (mintOptions.expiresIn ?? 300), ...claims };
    return new SignJWT(payload).setProtectedHeader({ typ: "JWT", kid: key.kid, ...mintOptions.header, alg }).sign(key.privateKey);
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? "/").split("?")[0] as string;
      if (path === `${basePath}/.well-known/openid-configuration`) {
        stats.discovery++;
        if (down) return send(res, 503, { error: "unavailable" });
        return send(res, 200, {
          issuer: url,
          jwks_uri: `${url}/.well-known/jwks`,
          subject_types_supported: ["public", "pairwise"],
          response_types_supported: ["id_token"],
          claims_supported: ["sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "repository", "repository_owner"],
          id_token_signing_alg_values_supported: [alg],
          scopes_supported: ["openid"],
        });
      }
      if (path === `${basePath}/.well-known/jwks`) {
        stats.jwks++;
        if (down) return send(res, 503, { error: "unavailable" });
        return send(res, 200, jwks(), options.jwksCacheControl ? { "Cache-Control": options.jwksCacheControl } : {});
      }
      if (path === `${basePath}/_test/mint` && req.method === "POST") {
        const body = await readJson(req);
        const token = await mint((body["claims"] as Record<string, unknown>) ?? {}, {
          ...(typeof body["expiresIn"] === "number" && { expiresIn: body["expiresIn"] }),
          ...(typeof body["now"] === "number" && { now: body["now"] }),
          ...(typeof body["header"] === "object" && body["header"] !== null && { header: body["header"] as Record<string, unknown> }),
        });
        return send(res, 200, { token });
      }
      if (path === `${basePath}/_test/rotate` && req.method === "POST") {
        const body = await readJson(req);
        await rotate(body["keepOld"] === true);
        return send(res, 200, { kid: current().kid });
      }
      if (path === `${basePath}/_test/down` && req.method === "POST") {
        down = (await readJson(req))["down"] === true;
        return send(res, 200, { down });
      }
      if (path === `${basePath}/_test/stats`) return send(res, 200, stats);
      if (path === `${basePath}/_test/reset-stats` && req.method === "POST") {
        stats.discovery = 0;
        stats.jwks = 0;
        return send(res, 200, stats);
      }
      if (path === `${basePath}/_test/private-jwk`) {
        return send(res, 200, { alg, kid: current().kid, jwk: await exportJWK(current().privateKey) });
      }
      return send(res, 404, { error: "not found" });
    })().catch((error: unknown) => send(res, 500, { error: String(error) }));
  });

  const rotate = async (keepOld = false): Promise<void> => {
    const next = await newKey(alg);
    keys = keepOld ? [next, ...keys] : [next];
  };

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, host, resolve));
  const { port } = server.address() as AddressInfo;
  url = `http://${host}:${port}${basePath}`;

  return {
    url,
    alg,
    mint,
    github: (gh, m) => mint(githubClaims(gh), m),
    kubernetes: (k8s, m) => mint(kubernetesClaims(k8s), m),
    rotate,
    setDown: (value) => {
      down = value;
    },
    stats,
    resetStats: () => {
      stats.discovery = 0;
      stats.jwks = 0;
    },
    jwks,
    publicKeyPem: async () => {
      const { createPublicKey } = await import("node:crypto");
      return createPublicKey({ key: current().publicJwk as import("node:crypto").JsonWebKey, format: "jwk" }).export({ type: "spki", format: "pem" }).toString();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
