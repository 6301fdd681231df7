/**
 * `npm run demo`: the whole stack on loopback, in one command, then stopped.
 *
 *   local OIDC issuers (GitHub-Actions-shaped, Kubernetes-shaped)
 *   → the token server (wrangler dev) with two providers
 *   → registry A: Distribution with token auth pointing at the token server
 *   → registry B: a plain Distribution, behind the registry auth proxy (wrangler dev)
 *
 * A "GitHub Actions job" pushes an image to both with its OIDC JWT as the
 * password; a "Kubernetes service account" pulls it from both; the service
 * account's push is refused by policy. Everything started is stopped at the end,
 * on error, and on Ctrl-C. Nothing is installed: missing tools are named with
 * the Debian packages that provide them.
 */
import {
  buildOciImage,
  createDockerConfig,
  DEBIAN_PACKAGES,
  findExecutable,
  makeTempDir,
  removeDir,
  skopeoCopy,
  skopeoInspect,
  startOidcIssuer,
  startRegistry,
  startTokenServer,
  startWrangler,
  type OidcIssuer,
} from "@jwt-registry-auth/testkit";

const OWNER_ID = "1234567";
const REGISTRY_SERVICE = "demo-registry";
const PROXY_SERVICE = "demo-proxy";

const cleanups: (() => void | Promise<void>)[] = [];
let stopping: Promise<void> | undefined;
let interrupted = false;

function stopAll(): Promise<void> {
  stopping ??= (async () => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        console.error(`  (while stopping: ${String(error)})`);
      }
    }
  })();
  return stopping;
}

let stepNumber = 0;
function step(text: string): void {
  console.log(`\n▶ ${++stepNumber}. ${text}`);
}
const info = (text: string): void => console.log(`   ${text}`);

function providersYaml(github: OidcIssuer, cluster: OidcIssuer): string {
  return `providers:
  - name: github
    description: GitHub Actions workflows of the acme organization
    issuer: ${JSON.stringify(github.url)}
    authn:
      condition: |
        claims.repository_owner_id == "${OWNER_ID}"
    authz:
      condition: |
        scope.type == "repository" && scope.name.startsWith("acme/") &&
        (scope.action == "pull" || (scope.action == "push" && claims.ref == "refs/heads/main"))
  - name: cluster
    description: service accounts of the builds namespace (pull only)
    issuer: ${JSON.stringify(cluster.url)}
    authn:
      condition: |
        claims.sub.startsWith("system:serviceaccount:builds:")
    authz:
      condition: |
        scope.type == "repository" && scope.name.startsWith("acme/") && scope.action == "pull"
`;
}

function requireTools(): void {
  const missing = ["docker-registry", "skopeo"].filter((tool) => findExecutable(tool) === undefined);
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((tool) => DEBIAN_PACKAGES[tool] ?? tool))];
  console.error(`npm run demo needs ${missing.join(" and ")}, which ${missing.length === 1 ? "is" : "are"} not installed.`);
  console.error(`Install the Debian package${packages.length === 1 ? "" : "s"}:  sudo apt-get install -y ${packages.join(" ")}`);
  process.exit(1);
}

async function main(): Promise<void> {
  requireTools();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (interrupted) return;
      interrupted = true;
      console.log(`\n${signal}: stopping everything the demo started…`);
      void stopAll().then(() => process.exit(130));
    });
  }

  step("Local OIDC issuers on loopback (stand-ins for GitHub Actions and a Kubernetes cluster)");
  const github = await startOidcIssuer({ alg: "RS256", path: "/github" });
  cleanups.push(() => github.close());
  const cluster = await startOidcIssuer({ alg: "ES256", path: "/cluster" });
  cleanups.push(() => cluster.close());
  info(`GitHub-shaped issuer:     ${github.url}`);
  info(`Kubernetes-shaped issuer: ${cluster.url}`);

  step("The token server (wrangler dev): signing key, D1 policies for two providers");
  const tokenServer = await startTokenServer({ providersYaml: providersYaml(github, cluster) });
  cleanups.push(() => tokenServer.stop());
  info(`token endpoint: ${tokenServer.realm}`);
  info("github:  acme/* pull; push only from refs/heads/main of the acme organization");
  info("cluster: acme/* pull, for service accounts of namespace builds");

  step("Registry A: Distribution with token auth, trusting the token server's certificate");
  const registryA = await startRegistry({ auth: { kind: "token", realm: tokenServer.realm, service: REGISTRY_SERVICE, issuer: tokenServer.tokenIssuer, rootCertBundlePath: tokenServer.certPath } });
  cleanups.push(() => registryA.stop());
  info(`${registryA.url}  (service ${REGISTRY_SERVICE})`);

  step("Registry B: a plain Distribution with no auth of its own, behind the registry auth proxy");
  const registryB = await startRegistry({ auth: { kind: "none" } });
  cleanups.push(() => registryB.stop());
  const proxyState = makeTempDir("demo-proxy");
  cleanups.push(() => removeDir(proxyState));
  const proxy = await startWrangler({
    config: "proxy-worker/wrangler.toml",
    persistTo: proxyState,
    vars: {
      UPSTREAM_URL: registryB.url,
      TOKEN_REALM: tokenServer.realm,
      TOKEN_SERVICE: PROXY_SERVICE,
      TOKEN_ISSUER: tokenServer.tokenIssuer,
      TOKEN_JWKS_URL: `${tokenServer.url}/.well-known/jwks.json`,
    },
  });
  cleanups.push(() => proxy.stop());
  const proxyHost = new URL(proxy.url).host;
  info(`registry B ${registryB.url} ← proxy ${proxy.url}  (service ${PROXY_SERVICE})`);
  info("(skopeo tries HTTPS first; wrangler dev's port does not answer TLS, so each skopeo call via the proxy waits ~10 s before using HTTP)");

  const image = await buildOciImage({ layers: [2048, 64 * 1024] });
  cleanups.push(() => image.cleanup());
  const registryRef = (repo: string) => `docker://${registryA.host}/${repo}`;
  const proxyRef = (repo: string) => `docker://${proxyHost}/${repo}`;

  step('A "GitHub Actions job" logs in with its OIDC token as the password and pushes acme/app:v1 to both');
  const job = createDockerConfig({
    [registryA.host]: { username: "github", password: await github.github({ owner: "acme", ownerId: OWNER_ID, audience: REGISTRY_SERVICE }) },
    [proxyHost]: { username: "github", password: await github.github({ owner: "acme", ownerId: OWNER_ID, audience: PROXY_SERVICE }) },
  });
  cleanups.push(() => job.cleanup());
  info("JWT sub: repo:acme/app:ref:refs/heads/main, repository_owner_id 1234567 (5-minute lifetime)");
  for (const [label, ref] of [["registry A", registryRef("acme/app:v1")], ["proxy → registry B", proxyRef("acme/app:v1")]] as const) {
    const push = await skopeoCopy(image.reference, ref, { authFile: job.path });
    if (push.code !== 0) throw new Error(`push to ${label} failed:\n${push.stderr}`);
    info(`✔ pushed to ${label}: ${ref}`);
  }

  step('A "Kubernetes service account" (builds/puller) pulls it back from both');
  const pod = createDockerConfig({
    [registryA.host]: { username: "cluster", password: await cluster.kubernetes({ namespace: "builds", serviceAccount: "puller", audience: [REGISTRY_SERVICE] }) },
    [proxyHost]: { username: "cluster", password: await cluster.kubernetes({ namespace: "builds", serviceAccount: "puller", audience: [PROXY_SERVICE] }) },
  });
  cleanups.push(() => pod.cleanup());
  info("JWT sub: system:serviceaccount:builds:puller");
  for (const [label, ref] of [["registry A", registryRef("acme/app:v1")], ["proxy → registry B", proxyRef("acme/app:v1")]] as const) {
    const inspect = await skopeoInspect(ref, { authFile: pod.path });
    if (inspect.code !== 0) throw new Error(`pull from ${label} failed:\n${inspect.stderr}`);
    info(`✔ ${label}: ${inspect.digest} ${inspect.digest === image.manifest.digest ? "(the digest pushed)" : "(DIFFERENT from the digest pushed)"}`);
  }

  step("The service account tries to push: its policy allows pull only");
  const refused = await skopeoCopy(image.reference, proxyRef("acme/app:evil"), { authFile: pod.path });
  if (refused.code === 0) throw new Error("the service account's push was accepted; the policy should refuse it");
  const decision = tokenServer.tokenRequests().filter((r) => r.provider === "cluster" && (r.refused?.length ?? 0) > 0).at(-1);
  info(`✘ refused, as the policy says. skopeo: ${refused.stderr.trim().split("\n").at(-1) ?? ""}`);
  if (decision) info(`  token server: granted ${JSON.stringify(decision.granted ?? [])}, refused ${JSON.stringify(decision.refused ?? [])}`);
  const tags = (await (await fetch(`${registryB.url}/v2/acme/app/tags/list`)).json()) as { tags?: string[] };
  info(`  registry B's acme/app tags: ${JSON.stringify(tags.tags ?? [])} (no "evil")`);

  step("Stopping everything the demo started");
}

try {
  await main();
  await stopAll();
  console.log("\nDemo complete.");
} catch (error) {
  // After Ctrl-C, steps fail because their servers are going away: that is no failure to report.
  if (!interrupted) console.error(`\nDemo failed: ${error instanceof Error ? error.message : String(error)}`);
  await stopAll();
  process.exit(interrupted ? 130 : 1);
}
