/**
 * The client side of the upstream-mode e2e tests (upstream-*.test.ts): a
 * GitHub OIDC issuer and a token server that lets `acme` push and pull
 * `acme/*`, a docker config for skopeo, and a manifest GET through the proxy
 * that reports the status and the OCI error message.
 */
import { createDockerConfig, fetchWithRegistryAuth, startOidcIssuer, startTokenServer, type DockerConfigDir, type OidcIssuer, type TokenServer } from "@jwt-registry-auth/testkit";
import type { Proxy } from "./proxy-harness.ts";

const OWNER_ID = "7654321";

export interface UpstreamClients {
  readonly github: OidcIssuer;
  readonly tokenServer: TokenServer;
  /** A fresh GitHub OIDC token of `acme` for the service: the password a client logs in with. */
  jwt(): Promise<string>;
  /** A docker config holding a fresh GitHub OIDC token for `host` (cleaned up by stop()). */
  credentialsFor(host: string): Promise<DockerConfigDir>;
  /** GET `<repo>:v1`'s manifest through the proxy with a registry token. */
  getManifest(proxy: Proxy, repo: string): Promise<{ status: number; message?: string }>;
  stop(): Promise<void>;
}

export async function startUpstreamClients(service: string): Promise<UpstreamClients> {
  const github = await startOidcIssuer({ alg: "RS256", path: "/github" });
  const cleanups: (() => void | Promise<void>)[] = [() => github.close()];
  const tokenServer = await startTokenServer({
    providersYaml: `providers:
  - name: github
    issuer: ${JSON.stringify(github.url)}
    authn:
      condition: claims.repository_owner_id == "${OWNER_ID}"
    authz:
      condition: scope.type == "repository" && scope.name.startsWith("acme/") && (scope.action == "pull" || scope.action == "push")
`,
  }).catch(async (error: unknown) => {
    await github.close();
    throw error;
  });
  cleanups.push(() => tokenServer.stop());
  const jwt = (): Promise<string> => github.github({ owner: "acme", ownerId: OWNER_ID, audience: service });
  return {
    github,
    tokenServer,
    jwt,
    async credentialsFor(host) {
      const config = createDockerConfig({ [host]: { username: "github", password: await jwt() } });
      cleanups.push(() => config.cleanup());
      return config;
    },
    async getManifest(proxy, repo) {
      const { response } = await fetchWithRegistryAuth(`${proxy.url}/v2/${repo}/manifests/v1`, { username: "github", password: await jwt() }, { headers: { Accept: "application/vnd.oci.image.manifest.v1+json" } });
      const text = await response.text();
      let message: string | undefined;
      try {
        message = (JSON.parse(text) as { errors?: { message?: string }[] }).errors?.[0]?.message;
      } catch {
        message = undefined;
      }
      return { status: response.status, ...(message !== undefined && { message }) };
    },
    async stop() {
      for (const cleanup of cleanups.reverse()) await cleanup();
    },
  };
}
