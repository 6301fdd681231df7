/**
 * Stand-in for the Actions runtime's token endpoint (`ACTIONS_ID_TOKEN_REQUEST_URL`):
 * checks the Bearer request token like GitHub does, and answers `{"value": jwt}`
 * with a GitHub-shaped token minted by the local issuer for the requested
 * `audience`. The URL carries `?api-version=2.0` as GitHub's does, so clients
 * must append `&audience=`.
 */
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { GithubTokenOptions, OidcIssuer } from "@jwt-registry-auth/testkit/oidc-issuer";

export interface ActionsOidcEndpoint {
  /** The environment a job with `permissions: id-token: write` gets. */
  readonly env: { ACTIONS_ID_TOKEN_REQUEST_URL: string; ACTIONS_ID_TOKEN_REQUEST_TOKEN: string };
  /** The audiences requested so far, in order. */
  readonly audiences: string[];
  /** Tokens handed out so far, in order. */
  readonly issued: string[];
  close(): Promise<void>;
}

export interface EndpointOptions {
  readonly github?: Omit<GithubTokenOptions, "audience">;
  /** Token lifetime in seconds (GitHub's is 300). */
  readonly expiresIn?: number;
  /**
   * Mint as if issued this many seconds ago (default 0). With `expiresIn` it
   * makes a token that is past `exp` but inside a verifier's leeway, so a test
   * can see it expire for good within seconds instead of minutes.
   */
  readonly issuedAgo?: number;
}

export async function startActionsOidcEndpoint(issuer: OidcIssuer, options: EndpointOptions = {}): Promise<ActionsOidcEndpoint> {
  const requestToken = randomBytes(24).toString("base64url");
  const audiences: string[] = [];
  const issued: string[] = [];
  const server = createServer((req, res) => {
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const url = new URL(req.url ?? "/", "http://localhost");
    if (req.method !== "GET" || url.pathname !== "/idtoken" || url.searchParams.get("api-version") !== "2.0") return reply(404, { message: "Not Found" });
    if (req.headers.authorization !== `Bearer ${requestToken}`) return reply(401, { message: "Bad credentials" });
    const audience = url.searchParams.get("audience") ?? undefined;
    if (audience !== undefined) audiences.push(audience);
    // Without `audience`, GitHub uses the owner's URL; githubClaims() does the same.
    issuer
      .github(
        { ...options.github, ...(audience !== undefined && { audience }) },
        {
          ...(options.expiresIn !== undefined && { expiresIn: options.expiresIn }),
          ...(options.issuedAgo !== undefined && { now: Math.floor(Date.now() / 1000) - options.issuedAgo }),
        },
      )
      .then((value) => {
        issued.push(value);
        reply(200, { count: 1, value });
      })
      .catch((error: unknown) => reply(500, { message: String(error) }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    env: { ACTIONS_ID_TOKEN_REQUEST_URL: `http://127.0.0.1:${port}/idtoken?api-version=2.0`, ACTIONS_ID_TOKEN_REQUEST_TOKEN: requestToken },
    audiences,
    issued,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
