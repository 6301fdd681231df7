/**
 * `UPSTREAM_AUTH=quay` and `acr` (keyless) end to end: the proxy Worker under
 * `wrangler dev` presents its own federation JWT to the stand-in, which
 * verifies it against the proxy's discovery document and JWKS and the robot's
 * federation config (issuer, subject), and hands out the robot token that a
 * real Distribution's htpasswd holds; for acr the Entra stand-in verifies it
 * as a federated credential, the ACR stand-in exchanges the AAD token for a
 * refresh token and mints scoped access tokens that a token-auth Distribution
 * trusts. skopeo pushes and pulls through the
 * proxy; a refusal reaches the client as a 502 naming the step, the proxy's
 * log names it, and no token is logged.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildOciImage,
  skopeoCopy,
  skopeoInspect,
  startAcrStandIn,
  startEntraStandIn,
  startQuayStandIn,
  startRegistry,
  type AcrStandIn,
  type EntraApp,
  type EntraStandIn,
  type OciImage,
  type QuayFederationConfig,
  type QuayStandIn,
  type Registry,
} from "@jwt-registry-auth/testkit";
import { logWhen, startProxy, type Proxy } from "./proxy-harness.ts";
import { startUpstreamClients, type UpstreamClients } from "./upstream-clients.ts";

const SERVICE = "e2e-acr-quay-proxy";
const SUBJECT = "registry-proxy-e2e";
const federationKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();

const cleanups: (() => void | Promise<void>)[] = [];
let clients: UpstreamClients;
let image: OciImage;

beforeAll(async () => {
  clients = await startUpstreamClients(SERVICE);
  cleanups.push(() => clients.stop());
  image = await buildOciImage({ layers: [4096, 256 * 1024] });
  cleanups.push(() => image.cleanup());
}, 180_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** No token or JWT of any step in the proxy's log. */
function expectNoSecretsLogged(proxy: Proxy, secrets: readonly string[]): void {
  const logs = proxy.worker.logs();
  for (const secret of secrets) expect(logs).not.toContain(secret);
  expect(logs).not.toMatch(/eyJ[\w-]{10,}\.eyJ/);
}

describe("UPSTREAM_AUTH=quay (robot federation) through the Quay stand-in", () => {
  const ROBOT = "acme+proxy";
  const ROBOT_TOKEN = `quay-robot-${randomBytes(16).toString("hex")}`;
  const robots: Record<string, QuayFederationConfig[]> = {};
  let registry: Registry;
  let quay: QuayStandIn;
  let proxy: Proxy;

  beforeAll(async () => {
    registry = await startRegistry({ auth: { kind: "htpasswd", users: { [ROBOT]: ROBOT_TOKEN } } });
    cleanups.push(() => registry.stop());
    quay = await startQuayStandIn({ registryUrl: registry.url, robots, robotToken: ROBOT_TOKEN });
    cleanups.push(() => quay.close());
    // The proxy's upstream is Quay's origin: federation endpoint and registry API on one host.
    proxy = await startProxy({
      upstream: { ...registry, url: quay.url },
      tokenServer: clients.tokenServer,
      service: SERVICE,
      vars: (port) => ({ UPSTREAM_AUTH: "quay", QUAY_ROBOT: ROBOT, PUBLIC_URL: `http://127.0.0.1:${port}`, FEDERATION_SIGNING_KEY: federationKey, FEDERATION_SUBJECT: SUBJECT }),
    });
    cleanups.push(() => proxy.stop());
  }, 120_000);

  it("a robot federated with another subject: the client gets a 502 naming the step, and the proxy's log names it", async () => {
    robots[ROBOT] = [{ issuer: `http://${proxy.host}`, subject: "someone-else" }];
    const message = "Quay robot federation refused: unauthorized";
    expect(await clients.getManifest(proxy, "acme/app")).toEqual({ status: 502, message });
    const lines = await logWhen(proxy, (l) => l.some((line) => line.reason === `upstream: ${message}`));
    expect(lines.some((line) => line.status === 502 && line.reason === `upstream: ${message}`)).toBe(true);
    expect(quay.calls).toEqual(["federation:unauthorized"]);
  }, 60_000);

  it("federated with the proxy's issuer and subject: skopeo pushes and pulls, with one federation call", async () => {
    robots[ROBOT] = [{ issuer: `http://${proxy.host}`, subject: SUBJECT }];
    const before = quay.calls.length;
    const creds = await clients.credentialsFor(proxy.host);
    const started = performance.now();
    const push = await skopeoCopy(image.reference, `docker://${proxy.host}/acme/app:v1`, { authFile: creds.path });
    expect(push.code, push.stderr).toBe(0);
    console.log(`quay: skopeo push through the proxy, first mint included: ${(performance.now() - started).toFixed(0)} ms`);
    const pull = await skopeoInspect(`docker://${proxy.host}/acme/app:v1`, { authFile: creds.path });
    expect(pull.code, pull.stderr).toBe(0);
    expect(pull.digest).toBe(image.manifest.digest);
    expect(quay.calls.slice(before)).toEqual(["federation:ok"]);
    expect(registry.storedRepositories()).toContain("acme/app");
    expectNoSecretsLogged(proxy, [ROBOT_TOKEN]);
  }, 120_000);
});

describe("UPSTREAM_AUTH=acr (keyless: Entra federated credential) through the Entra and ACR stand-ins", () => {
  const TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";
  const CLIENT_ID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
  const OBJECT_ID = "9a8b7c6d-5e4f-4321-8765-43210fedcba9";
  const apps: Record<string, EntraApp> = {};
  let entra: EntraStandIn;
  let acr: AcrStandIn;
  let proxy: Proxy;

  beforeAll(async () => {
    entra = await startEntraStandIn({ tenant: TENANT, apps });
    cleanups.push(() => entra.close());
    acr = await startAcrStandIn({ entra, tenant: TENANT, roleAssignments: { [OBJECT_ID]: ["pull", "push"] } });
    cleanups.push(() => acr.close());
    proxy = await startProxy({
      // The login server's origin serves /oauth2/* and the registry API.
      upstream: { ...acr.registry, url: acr.url },
      tokenServer: clients.tokenServer,
      service: SERVICE,
      vars: (port) => ({
        UPSTREAM_AUTH: "acr",
        ACR_TENANT_ID: TENANT,
        ACR_CLIENT_ID: CLIENT_ID,
        ACR_LOGIN_ENDPOINT: `${entra.url}/`,
        PUBLIC_URL: `http://127.0.0.1:${port}`,
        FEDERATION_SIGNING_KEY: federationKey,
        FEDERATION_SUBJECT: SUBJECT,
      }),
    });
    cleanups.push(() => proxy.stop());
  }, 120_000);

  it("a federated credential for another subject: the client gets a 502 naming the step, and the proxy's log names it", async () => {
    apps[CLIENT_ID] = { objectId: OBJECT_ID, federatedCredentials: [{ issuer: `http://${proxy.host}`, subject: "someone-else" }] };
    const message = "Entra client-credentials grant refused: AADSTS700213";
    expect(await clients.getManifest(proxy, "acme/app")).toEqual({ status: 502, message });
    const lines = await logWhen(proxy, (l) => l.some((line) => line.reason === `upstream: ${message}`));
    expect(lines.some((line) => line.status === 502 && line.reason === `upstream: ${message}`)).toBe(true);
    expect(entra.calls).toEqual(["entra:AADSTS700213"]);
    expect(acr.calls).toEqual([]);
  }, 60_000);

  it("federated with the proxy's issuer and subject: skopeo pushes and pulls with minted, scoped ACR access tokens", async () => {
    apps[CLIENT_ID] = { objectId: OBJECT_ID, federatedCredentials: [{ issuer: `http://${proxy.host}`, subject: SUBJECT }] };
    const creds = await clients.credentialsFor(proxy.host);
    const started = performance.now();
    const push = await skopeoCopy(image.reference, `docker://${proxy.host}/acme/app:v1`, { authFile: creds.path });
    expect(push.code, push.stderr).toBe(0);
    console.log(`acr: skopeo push through the proxy, first mint included: ${(performance.now() - started).toFixed(0)} ms`);
    const pull = await skopeoInspect(`docker://${proxy.host}/acme/app:v1`, { authFile: creds.path });
    expect(pull.code, pull.stderr).toBe(0);
    expect(pull.digest).toBe(image.manifest.digest);
    // One AAD token and one exchange (the refresh token is kept); access tokens per scope.
    expect(entra.calls.slice(1)).toEqual(["entra:ok"]);
    expect(acr.calls.filter((c) => c.startsWith("exchange:"))).toEqual(["exchange:ok"]);
    expect(acr.calls.filter((c) => c.startsWith("token:")).length).toBeGreaterThan(0);
    expect(acr.calls.every((c) => c.endsWith(":ok"))).toBe(true);
    expect(acr.registry.storedRepositories()).toContain("acme/app");
    expectNoSecretsLogged(proxy, []);
  }, 120_000);
});
