/**
 * `UPSTREAM_AUTH=gar` (keyless, with service-account impersonation), end to
 * end: the proxy Worker under `wrangler dev` exchanges its own federation JWT
 * at the Google stand-in's STS (which verifies it against the proxy's
 * discovery document and JWKS, and the provider's attribute condition on
 * `sub`), impersonates the service account at iamcredentials, and sends Basic
 * `oauth2accesstoken:<token>` to a real Distribution whose htpasswd holds that
 * token. skopeo pushes and pulls through it; the credential (6 s here) expires
 * mid-run and is minted again without a failed request; refusals reach the
 * client as a 502/503 naming the step, and the proxy's log names it.
 * (acr and quay: e2e/upstream-acr-quay.test.ts.)
 */
import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildOciImage,
  freePort,
  skopeoCopy,
  skopeoInspect,
  startGoogleStandIn,
  startRegistry,
  type GoogleStandIn,
  type OciImage,
  type Registry,
} from "@jwt-registry-auth/testkit";
import { logWhen, startProxy, type Proxy } from "./proxy-harness.ts";
import { startUpstreamClients, type UpstreamClients } from "./upstream-clients.ts";

const SERVICE = "e2e-gar-proxy";
const SUBJECT = "registry-proxy-e2e";
const PROVIDER = "projects/123456789012/locations/global/workloadIdentityPools/proxy-pool/providers/proxy-oidc";
const SA = "registry-proxy@acme-prod.iam.gserviceaccount.com";
const REGISTRY_PASSWORD = "ya29.gar-token-from-stand-in";
const TOKEN_SECONDS = 6;

const cleanups: (() => void | Promise<void>)[] = [];
let clients: UpstreamClients;
let image: OciImage;
let registry: Registry;
let google: GoogleStandIn;
const providers: Record<string, { issuer: string; subject: string }> = {};
const serviceAccounts: Record<string, string[]> = { [SA]: [SUBJECT] };
const skew = { ms: 0 };
const federationKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();

async function startGarProxy(stsEndpoint: () => string): Promise<Proxy> {
  const proxy = await startProxy({
    upstream: registry,
    tokenServer: clients.tokenServer,
    service: SERVICE,
    vars: (port) => ({
      UPSTREAM_AUTH: "gar",
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      FEDERATION_SIGNING_KEY: federationKey,
      FEDERATION_SUBJECT: SUBJECT,
      GAR_WORKLOAD_IDENTITY_PROVIDER: PROVIDER,
      GAR_SERVICE_ACCOUNT: SA,
      GAR_STS_ENDPOINT: stsEndpoint(),
      GAR_IAM_CREDENTIALS_ENDPOINT: `${google.url}/`,
    }),
  });
  cleanups.push(() => proxy.stop());
  // Register the proxy's issuer as the pool provider's issuer, with the attribute condition on sub.
  providers[PROVIDER] = { issuer: `http://${proxy.host}`, subject: SUBJECT };
  return proxy;
}

beforeAll(async () => {
  image = await buildOciImage({ layers: [4096, 512 * 1024] });
  cleanups.push(() => image.cleanup());
  clients = await startUpstreamClients(SERVICE);
  cleanups.push(() => clients.stop());
  registry = await startRegistry({ auth: { kind: "htpasswd", users: { oauth2accesstoken: REGISTRY_PASSWORD } } });
  cleanups.push(() => registry.stop());
  google = await startGoogleStandIn({ providers, serviceAccounts, registryPassword: REGISTRY_PASSWORD, tokenSeconds: TOKEN_SECONDS, now: () => Date.now() + skew.ms });
  cleanups.push(() => google.close());
}, 180_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});


const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe("UPSTREAM_AUTH=gar (keyless, impersonating a service account) through the Google stand-in", () => {
  let proxy: Proxy;

  beforeAll(async () => {
    proxy = await startGarProxy(() => `${google.url}/v1/token`);
  }, 120_000);

  it("pushes and pulls with skopeo; one STS exchange and one generateAccessToken, both accepted", async () => {
    const creds = await clients.credentialsFor(proxy.host);
    const started = performance.now();
    const push = await skopeoCopy(image.reference, `docker://${proxy.host}/acme/app:v1`, { authFile: creds.path });
    console.log(`gar: skopeo push through the proxy, first mint included: ${(performance.now() - started).toFixed(0)} ms`);
    expect(push.code, push.stderr).toBe(0);
    const pull = await skopeoInspect(`docker://${proxy.host}/acme/app:v1`, { authFile: creds.path });
    expect(pull.code, pull.stderr).toBe(0);
    expect(pull.digest).toBe(image.manifest.digest);
    expect(google.calls).toEqual(["sts:ok", "iam:ok"]);
  }, 120_000);

  it("a credential that expires mid-run is minted again before it is used, and no request fails", async () => {
    const before = google.calls.length;
    const creds = await clients.credentialsFor(proxy.host);
    await sleep(TOKEN_SECONDS * 1000);
    const pull = await skopeoInspect(`docker://${proxy.host}/acme/app:v1`, { authFile: creds.path });
    expect(pull.code, pull.stderr).toBe(0);
    expect(google.calls.slice(before)).toEqual(["sts:ok", "iam:ok"]);
    const lines = await logWhen(proxy, (l) => l.some((line) => line.endpoint === "manifest"));
    expect(lines.filter((line) => line.status >= 500)).toEqual([]);
  }, 60_000);

  it("refusals reach the client as a 502/503 naming the step, and the proxy's log names it", async () => {
    await sleep(TOKEN_SECONDS * 1000);
    const cases: { name: string; arrange: () => void; undo: () => void; status: number; message: string }[] = [
      { name: "expired federation JWT (Google's clock 10 min ahead)", arrange: () => (skew.ms = 10 * 60_000), undo: () => (skew.ms = 0), status: 502, message: "Google STS token exchange refused: invalid_grant" },
      { name: "clock skew (Google's clock 10 min behind: not valid yet)", arrange: () => (skew.ms = -10 * 60_000), undo: () => (skew.ms = 0), status: 502, message: "Google STS token exchange refused: invalid_grant" },
      {
        name: "attribute condition pins another subject",
        arrange: () => (providers[PROVIDER] = { ...(providers[PROVIDER] as { issuer: string; subject: string }), subject: "someone-else" }),
        undo: () => (providers[PROVIDER] = { ...(providers[PROVIDER] as { issuer: string; subject: string }), subject: SUBJECT }),
        status: 502,
        message: "Google STS token exchange refused: unauthorized_client",
      },
      { name: "no workloadIdentityUser on the service account", arrange: () => (serviceAccounts[SA] = []), undo: () => (serviceAccounts[SA] = [SUBJECT]), status: 502, message: "IAM Credentials generateAccessToken refused: PERMISSION_DENIED" },
      { name: "Google outage", arrange: () => (google.failWith = 503), undo: () => (google.failWith = undefined), status: 503, message: "Google STS token exchange refused: temporarily_unavailable" },
    ];
    for (const c of cases) {
      c.arrange();
      try {
        expect(await clients.getManifest(proxy, "acme/app"), c.name).toEqual({ status: c.status, message: c.message });
        const lines = await logWhen(proxy, (l) => l.some((line) => line.reason === `upstream: ${c.message}`));
        expect(lines.some((line) => line.status === c.status && line.reason === `upstream: ${c.message}`), c.name).toBe(true);
      } finally {
        c.undo();
      }
    }
    expect((await clients.getManifest(proxy, "acme/app")).status).toBe(200);
    expect(proxy.worker.logs()).not.toContain(REGISTRY_PASSWORD);
    expect(proxy.worker.logs()).not.toMatch(/eyJ[\w-]{10,}\.eyJ/);
  }, 120_000);
});

describe("UPSTREAM_AUTH=gar with an unreachable STS", () => {
  it("gives the client a 502 naming the step", async () => {
    const closed = await freePort();
    const proxy = await startGarProxy(() => `http://127.0.0.1:${closed}/v1/token`);
    expect(await clients.getManifest(proxy, "acme/app")).toEqual({ status: 502, message: "Google STS token exchange could not be reached" });
  }, 120_000);
});
