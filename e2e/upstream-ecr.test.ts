/**
 * `UPSTREAM_AUTH=ecr`, keyless, end to end: the proxy Worker under `wrangler
 * dev` mints its upstream credential from the AWS stand-in (testkit/src/cloud/aws.ts)
 * — STS AssumeRoleWithWebIdentity with a federation JWT the stand-in verifies
 * against the proxy's own discovery document and JWKS, then a SigV4-signed ECR
 * GetAuthorizationToken — and sends Basic AWS:<password> to a real
 * Distribution registry whose htpasswd holds that password. skopeo pushes and
 * pulls through it; the credential (6 s here) expires mid-run and is minted
 * again without a failed request; refusals reach the client as a 502 naming the
 * step (skopeo shows the 502), and the proxy's log names it.
 */
import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildOciImage,
  createTimings,
  freePort,
  skopeoCopy,
  skopeoInspect,
  startAwsStandIn,
  startRegistry,
  type AwsStandIn,
  type OciImage,
  type Registry,
} from "@jwt-registry-auth/testkit";
import { logWhen, startProxy, type Proxy } from "./proxy-harness.ts";
import { startUpstreamClients, type UpstreamClients } from "./upstream-clients.ts";

const SERVICE = "e2e-ecr-proxy";
const ROLE_ARN = "arn:aws:iam::123456789012:role/registry-proxy";
const SUBJECT = "registry-proxy-e2e";
const REGISTRY_PASSWORD = "ecr-password-from-stand-in";
const TOKEN_SECONDS = 6;
const ACCESS_KEY = { id: "AKIDE2EKEYED", secret: "e2e-keyed-secret" } as const;

const timings = createTimings();
const cleanups: (() => void | Promise<void>)[] = [];
let clients: UpstreamClients;
let image: OciImage;
let registry: Registry;
let aws: AwsStandIn;
/** The stand-in's IAM OIDC providers: the proxy's URL once it is known. */
const oidcProviders: string[] = [];
const roles: Record<string, { issuer: string; subject: string }> = {};
const skew = { ms: 0 };
const federationKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();

function ecrVars(stsEndpoint: () => string): (port: number) => Record<string, string> {
  return (port) => ({
    UPSTREAM_AUTH: "ecr",
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    FEDERATION_SIGNING_KEY: federationKey,
    FEDERATION_SUBJECT: SUBJECT,
    AWS_REGION: "us-east-1",
    AWS_ROLE_ARN: ROLE_ARN,
    AWS_STS_ENDPOINT: stsEndpoint(),
    ECR_API_ENDPOINT: aws.url,
  });
}

async function startEcrProxy(stsEndpoint: () => string): Promise<Proxy> {
  const proxy = await startProxy({ upstream: registry, tokenServer: clients.tokenServer, service: SERVICE, vars: ecrVars(stsEndpoint) });
  cleanups.push(() => proxy.stop());
  // Register the proxy's issuer with "AWS": the IAM OIDC provider and the role's trust policy on sub.
  const issuer = `http://${proxy.host}`;
  oidcProviders.push(issuer);
  roles[ROLE_ARN] = { issuer, subject: SUBJECT };
  return proxy;
}

beforeAll(async () => {
  image = await buildOciImage({ layers: [4096, 512 * 1024] });
  cleanups.push(() => image.cleanup());
  clients = await timings.measure("start token server", () => startUpstreamClients(SERVICE));
  cleanups.push(() => clients.stop());
  registry = await startRegistry({ auth: { kind: "htpasswd", users: { AWS: REGISTRY_PASSWORD } } });
  cleanups.push(() => registry.stop());
  aws = await startAwsStandIn({ region: "us-east-1", oidcProviders, roles, accessKeys: { [ACCESS_KEY.id]: ACCESS_KEY.secret }, registryPassword: REGISTRY_PASSWORD, tokenSeconds: TOKEN_SECONDS, now: () => Date.now() + skew.ms });
  cleanups.push(() => aws.close());
}, 180_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  console.log(timings.format("upstream ecr e2e"));
});


const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe("UPSTREAM_AUTH=ecr (keyless) through the AWS stand-in", () => {
  let proxy: Proxy;

  beforeAll(async () => {
    proxy = await timings.measure("start proxy (ecr)", () => startEcrProxy(() => aws.url));
  }, 120_000);

  it("pushes and pulls with skopeo; the stand-in saw one STS and one ECR call, both accepted", async () => {
    const creds = await clients.credentialsFor(proxy.host);
    const push = await timings.measure("skopeo push via proxy (first mint)", () => skopeoCopy(image.reference, `docker://${proxy.host}/acme/app:v1`, { authFile: creds.path }));
    expect(push.code, push.stderr).toBe(0);
    const pull = await timings.measure("skopeo inspect via proxy (cached credential)", () => skopeoInspect(`docker://${proxy.host}/acme/app:v1`, { authFile: creds.path }));
    expect(pull.code, pull.stderr).toBe(0);
    expect(pull.digest).toBe(image.manifest.digest);
    expect(aws.calls.sts).toEqual(["ok"]);
    expect(aws.calls.ecr).toEqual(["ok"]);
  }, 120_000);

  it("a credential that expires mid-run is minted again before it is used, and no request fails", async () => {
    const before = aws.calls.ecr.length;
    const creds = await clients.credentialsFor(proxy.host);
    await sleep(TOKEN_SECONDS * 1000);
    const pull = await skopeoInspect(`docker://${proxy.host}/acme/app:v1`, { authFile: creds.path });
    expect(pull.code, pull.stderr).toBe(0);
    expect(aws.calls.ecr.slice(before)).toEqual(["ok"]);
    const lines = await logWhen(proxy, (l) => l.some((line) => line.endpoint === "manifest"));
    expect(lines.filter((line) => line.status >= 500)).toEqual([]);
  }, 60_000);

  it("refusals reach the client as a 502 naming the step, and the proxy's log names it", async () => {
    await sleep(TOKEN_SECONDS * 1000); // let the cached credential come due, so the next request mints
    const cases: { name: string; arrange: () => void; undo: () => void; message: string }[] = [
      { name: "ECR refuses", arrange: () => aws.refuse("ecr", "AccessDenied"), undo: () => aws.refuse("ecr", undefined), message: "ECR GetAuthorizationToken refused: AccessDenied" },
      { name: "wrong audience", arrange: () => aws.setAudience("not-sts"), undo: () => aws.setAudience("sts.amazonaws.com"), message: "STS AssumeRoleWithWebIdentity refused: InvalidIdentityToken" },
      { name: "expired federation JWT (AWS's clock 10 min ahead)", arrange: () => (skew.ms = 10 * 60_000), undo: () => (skew.ms = 0), message: "STS AssumeRoleWithWebIdentity refused: ExpiredTokenException" },
      { name: "clock skew (AWS's clock 10 min behind: not valid yet)", arrange: () => (skew.ms = -10 * 60_000), undo: () => (skew.ms = 0), message: "STS AssumeRoleWithWebIdentity refused: InvalidIdentityToken" },
      { name: "STS refuses the role", arrange: () => aws.refuse("sts", "AccessDenied"), undo: () => aws.refuse("sts", undefined), message: "STS AssumeRoleWithWebIdentity refused: AccessDenied" },
    ];
    for (const c of cases) {
      c.arrange();
      try {
        const answer = await clients.getManifest(proxy, "acme/app");
        expect(answer, c.name).toEqual({ status: 502, message: c.message });
        const lines = await logWhen(proxy, (l) => l.some((line) => line.reason === `upstream: ${c.message}`));
        expect(lines.some((line) => line.status === 502 && line.reason === `upstream: ${c.message}`), c.name).toBe(true);
      } finally {
        c.undo();
      }
    }
    // skopeo reports the 502 (it prints the status of a failed manifest read, not its body; the body names the step, above).
    aws.refuse("ecr", "AccessDenied");
    try {
      const creds = await clients.credentialsFor(proxy.host);
      const refused = await skopeoInspect(`docker://${proxy.host}/acme/app:v1`, { authFile: creds.path });
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain("502 Bad Gateway");
    } finally {
      aws.refuse("ecr", undefined);
    }
    // And once the stand-in behaves again, the next request mints and succeeds.
    expect((await clients.getManifest(proxy, "acme/app")).status).toBe(200);
    // No log line or body carries the password or the federation JWT.
    expect(proxy.worker.logs()).not.toContain(REGISTRY_PASSWORD);
    expect(proxy.worker.logs()).not.toContain(Buffer.from(`AWS:${REGISTRY_PASSWORD}`).toString("base64"));
    expect(proxy.worker.logs()).not.toMatch(/eyJ[\w-]{10,}\.eyJ/);
  }, 120_000);
});

describe("UPSTREAM_AUTH=ecr with an unreachable STS", () => {
  it("gives the client a 502 naming the step", async () => {
    const closed = await freePort();
    const proxy = await startEcrProxy(() => `http://127.0.0.1:${closed}/`);
    const answer = await clients.getManifest(proxy, "acme/app");
    expect(answer).toEqual({ status: 502, message: "STS AssumeRoleWithWebIdentity could not be reached" });
    const lines = await logWhen(proxy, (l) => l.some((line) => line.status === 502));
    expect(lines.some((line) => line.reason === "upstream: STS AssumeRoleWithWebIdentity could not be reached")).toBe(true);
  }, 120_000);
});

describe("UPSTREAM_AUTH=ecr keyed (an access key pair, SigV4 directly)", () => {
  const keyed = (secret: string) => () => ({
    UPSTREAM_AUTH: "ecr",
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: ACCESS_KEY.id,
    AWS_SECRET_ACCESS_KEY: secret,
    ECR_API_ENDPOINT: aws.url,
  });

  it("pulls with skopeo through the proxy, calling only ECR", async () => {
    const sts = aws.calls.sts.length;
    const proxy = await startProxy({ upstream: registry, tokenServer: clients.tokenServer, service: SERVICE, vars: keyed(ACCESS_KEY.secret) });
    cleanups.push(() => proxy.stop());
    const creds = await clients.credentialsFor(proxy.host);
    const pull = await skopeoInspect(`docker://${proxy.host}/acme/app:v1`, { authFile: creds.path });
    expect(pull.code, pull.stderr).toBe(0);
    expect(pull.digest).toBe(image.manifest.digest);
    expect(aws.calls.sts.length).toBe(sts);
    expect(aws.calls.ecr.at(-1)).toBe("ok");
  }, 120_000);

  it("a wrong secret: the stand-in recomputes the signature and refuses it, the client gets a 502 naming the step", async () => {
    const proxy = await startProxy({ upstream: registry, tokenServer: clients.tokenServer, service: SERVICE, vars: keyed("not-the-secret") });
    cleanups.push(() => proxy.stop());
    expect(await clients.getManifest(proxy, "acme/app")).toEqual({ status: 502, message: "ECR GetAuthorizationToken refused: InvalidSignature" });
    expect(proxy.worker.logs()).not.toContain("not-the-secret");
  }, 120_000);
});
