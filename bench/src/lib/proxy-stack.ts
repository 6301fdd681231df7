/**
 * The proxy benchmarks' setup, on loopback: the token stack, the Debian
 * `docker-registry` (no auth of its own, so "direct" is the registry alone),
 * the proxy Worker bundled as deployed and served from workerd in front of it
 * (verifying the token server's tokens by its certificate), an OCI image pushed
 * to the registry, and a registry token for the bench repositories.
 */
import { join } from "node:path";
import { buildOciImage, OCI_MANIFEST, type OciImage } from "@jwt-registry-auth/testkit/image";
import { startRegistry, type Registry } from "@jwt-registry-auth/testkit/registry";
import { makeTempDir, removeDir } from "@jwt-registry-auth/testkit/temp-dir";
import { pushBlob } from "./blob-transfer.ts";
import { bundleWorker } from "./bundle.ts";
import { serveWorker, type ServedWorker } from "./serve.ts";
import { SERVICE, startTokenStack, TOKEN_ISSUER, type TokenStack } from "./token-stack.ts";

export const PROXY_CONFIG = "proxy-worker/wrangler.toml";
export const PULL_REPOSITORY = "example-org/bench";
export const PUSH_REPOSITORIES = { direct: "example-org/bench-push-direct", proxy: "example-org/bench-push-proxy" } as const;

export interface ProxyStack {
  readonly tokens: TokenStack;
  readonly registry: Registry;
  readonly proxy: ServedWorker;
  readonly image: OciImage;
  /** `Authorization: Bearer …` with pull on PULL_REPOSITORY and pull,push on the push repositories. */
  readonly bearer: Record<string, string>;
  /** GET of the image's manifest, with the OCI Accept header. */
  manifestUrl(via: "proxy" | "direct"): string;
  base(via: "proxy" | "direct"): string;
  stop(): Promise<void>;
}

export async function startProxyStack(layers: readonly number[]): Promise<ProxyStack> {
  const dir = makeTempDir("bench-proxy");
  const cleanups: (() => Promise<void> | void)[] = [() => removeDir(dir)];
  const stop = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    const tokens = await startTokenStack();
    cleanups.push(() => tokens.stop());
    const registry = await startRegistry({ auth: { kind: "none" } });
    cleanups.push(() => registry.stop());
    const image = await buildOciImage({ layers: layers.map((size) => ({ size, compression: "none" as const })), tag: "v1" });
    cleanups.push(() => image.cleanup());
    // Pushed blob by blob with the exact digests (skopeo would recompress uncompressed layers).
    for (const blob of [image.config, ...image.layers]) await pushBlob(registry.url, PULL_REPOSITORY, blob.digest, image.blobPath(blob.digest));
    const manifest = await fetch(`${registry.url}/v2/${PULL_REPOSITORY}/manifests/v1`, { method: "PUT", headers: { "Content-Type": OCI_MANIFEST }, body: image.manifestJson });
    await manifest.body?.cancel();
    if (manifest.status !== 201) throw new Error(`pushing the bench manifest: ${manifest.status}`);

    const bundle = await bundleWorker(PROXY_CONFIG, join(dir, "proxy"));
    const proxy = await serveWorker({
      scriptPath: bundle.scriptPath,
      compatibilityDate: bundle.compatibilityDate,
      bindings: { UPSTREAM_URL: registry.url, TOKEN_REALM: `${tokens.tokenServer.url}/token`, TOKEN_SERVICE: SERVICE, TOKEN_ISSUER, TOKEN_CERTS: tokens.certPem },
    });
    cleanups.push(() => proxy.stop());

    const scopes = [`repository:${PULL_REPOSITORY}:pull`, `repository:${PUSH_REPOSITORIES.direct}:pull,push`, `repository:${PUSH_REPOSITORIES.proxy}:pull,push`];
    const query = `service=${encodeURIComponent(SERVICE)}&${scopes.map((s) => `scope=${encodeURIComponent(s)}`).join("&")}`;
    const response = await fetch(`${tokens.tokenServer.url}/token?${query}`, { headers: { Authorization: tokens.basic("RS256") } });
    if (response.status !== 200) throw new Error(`token for the proxy: ${response.status}`);
    const bearer = { Authorization: `Bearer ${((await response.json()) as { token: string }).token}` };

    const base = (via: "proxy" | "direct"): string => (via === "proxy" ? proxy.url : registry.url);
    const manifestUrl = (via: "proxy" | "direct"): string => `${base(via)}/v2/${PULL_REPOSITORY}/manifests/v1`;
    const check = await fetch(manifestUrl("proxy"), { headers: { ...bearer, Accept: OCI_MANIFEST } });
    await check.body?.cancel();
    if (check.status !== 200) throw new Error(`manifest through the proxy: ${check.status}\n${proxy.recentLogs().join("\n")}`);
    return { tokens, registry, proxy, image, bearer, manifestUrl, base, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
