/**
 * `ecr` mode: the Basic credential for Amazon ECR.
 *
 * Keyless: STS `AssumeRoleWithWebIdentity` (query API, unsigned, XML answer)
 * with a federation JWT for `sts.amazonaws.com` → temporary credentials → ECR
 * `GetAuthorizationToken` (JSON 1.1) signed with SigV4 → `authorizationToken`,
 * which is already base64 `AWS:<password>`, valid until its `expiresAt` (12 h).
 * Keyed: an access key pair signs GetAuthorizationToken directly.
 */
import { SettingError } from "@jwt-registry-auth/protocol";
import type { Env } from "../env.ts";
import { UpstreamError } from "../upstream-auth.ts";
import type { CredentialSource, MintContext, MintedCredential } from "./credential-source.ts";
import { signedPostHeaders, type AwsCredentials } from "./sigv4.ts";
import { refused, stepFetch } from "./step-fetch.ts";

/** The audience AWS STS requires of a web identity token (the IAM OIDC provider's client ID). */
export const AWS_FEDERATION_AUDIENCE = "sts.amazonaws.com";
export const STS_STEP = "STS AssumeRoleWithWebIdentity";
export const ECR_STEP = "ECR GetAuthorizationToken";
/** Temporary credentials are only needed for the one ECR call that follows. */
const SESSION_SECONDS = 900;

export interface EcrSettings {
  readonly region: string;
  readonly ecrEndpoint: URL;
  readonly identity:
    | { readonly kind: "keyless"; readonly roleArn: string; readonly stsEndpoint: URL; readonly sessionName: string }
    | { readonly kind: "keyed"; readonly credentials: AwsCredentials };
}

export const ECR_SETTING_NAMES = ["AWS_REGION", "AWS_ROLE_ARN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_STS_ENDPOINT", "ECR_API_ENDPOINT"] as const satisfies readonly (keyof Env)[];

const ECR_HOST = /^\d{12}\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

function value(env: Env, name: (typeof ECR_SETTING_NAMES)[number]): string {
  return (env[name] ?? "").trim();
}

function endpoint(env: Env, name: "AWS_STS_ENDPOINT" | "ECR_API_ENDPOINT", fallback: string): URL {
  const raw = value(env, name);
  if (raw === "") return new URL(fallback);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SettingError(name, `${name} is not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new SettingError(name, `${name} must be an http(s) URL`);
  return url;
}

/** The `ecr` settings; `sessionName` is the federation subject (what CloudTrail shows). */
export function parseEcrSettings(env: Env, upstream: URL, federation: { readonly subject: string } | undefined): EcrSettings {
  const region = value(env, "AWS_REGION") || ECR_HOST.exec(upstream.hostname)?.[1] || "";
  if (region === "") throw new SettingError("AWS_REGION", "AWS_REGION is not set and UPSTREAM_URL is not an ECR host (<account>.dkr.ecr.<region>.amazonaws.com)");
  if (!/^[a-z]{2}(?:-[a-z]+)+-\d$/.test(region)) throw new SettingError("AWS_REGION", "AWS_REGION is not an AWS region name");
  const ecrEndpoint = endpoint(env, "ECR_API_ENDPOINT", `https://api.ecr.${region}.amazonaws.com/`);
  const roleArn = value(env, "AWS_ROLE_ARN");
  const accessKeyId = value(env, "AWS_ACCESS_KEY_ID");
  const secretAccessKey = value(env, "AWS_SECRET_ACCESS_KEY");
  if (roleArn !== "") {
    if (accessKeyId !== "" || secretAccessKey !== "") throw new SettingError("AWS_ACCESS_KEY_ID", "set AWS_ROLE_ARN (keyless) or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (keyed), not both");
    if (!ROLE_ARN.test(roleArn)) throw new SettingError("AWS_ROLE_ARN", "AWS_ROLE_ARN is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)");
    if (!federation) throw new SettingError("FEDERATION_SIGNING_KEY", "keyless ecr (AWS_ROLE_ARN) needs the proxy's federation issuer: set FEDERATION_SIGNING_KEY, FEDERATION_SUBJECT and PUBLIC_URL");
    const sessionName = federation.subject.replace(/[^\w+=,.@-]/g, "-").slice(0, 64) || "jwt-registry-auth-proxy";
    return { region, ecrEndpoint, identity: { kind: "keyless", roleArn, stsEndpoint: endpoint(env, "AWS_STS_ENDPOINT", `https://sts.${region}.amazonaws.com/`), sessionName } };
  }
  if (accessKeyId === "" && secretAccessKey === "") throw new SettingError("AWS_ROLE_ARN", "ecr needs AWS_ROLE_ARN (keyless) or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (keyed)");
  if (accessKeyId === "" || secretAccessKey === "") throw new SettingError(accessKeyId === "" ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY", "set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  return { region, ecrEndpoint, identity: { kind: "keyed", credentials: { accessKeyId, secretAccessKey } } };
}

const XML_ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** The text of the first `<tag>` element in an AWS query-API answer (flat, no attributes on these elements). */
export function xmlText(xml: string, tag: string): string | undefined {
  const match = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml);
  return match?.[1]?.replace(/&(amp|lt|gt|quot|apos);/g, (_, name: string) => XML_ENTITIES[name] as string);
}

async function assumeRole(ctx: MintContext, identity: Extract<EcrSettings["identity"], { kind: "keyless" }>): Promise<AwsCredentials> {
  const body = new URLSearchParams({
    Action: "AssumeRoleWithWebIdentity",
    Version: "2011-06-15",
    RoleArn: identity.roleArn,
    RoleSessionName: identity.sessionName,
    DurationSeconds: String(SESSION_SECONDS),
    WebIdentityToken: await ctx.federationToken(AWS_FEDERATION_AUDIENCE),
  });
  const answer = await stepFetch(ctx, STS_STEP, identity.stsEndpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded; charset=utf-8", Accept: "application/xml" },
    body: body.toString(),
  });
  if (answer.status !== 200) throw refused(STS_STEP, answer.status, xmlText(answer.text, "Code"));
  const accessKeyId = xmlText(answer.text, "AccessKeyId");
  const secretAccessKey = xmlText(answer.text, "SecretAccessKey");
  const sessionToken = xmlText(answer.text, "SessionToken");
  if (!accessKeyId || !secretAccessKey || !sessionToken) throw new UpstreamError(502, `${STS_STEP} answered without credentials`);
  return { accessKeyId, secretAccessKey, sessionToken };
}

async function authorizationToken(ctx: MintContext, settings: EcrSettings, credentials: AwsCredentials): Promise<MintedCredential> {
  const body = "{}";
  const headers = await signedPostHeaders(
    settings.ecrEndpoint,
    { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken" },
    body,
    credentials,
    { region: settings.region, service: "ecr", nowMs: ctx.now() },
  );
  const answer = await stepFetch(ctx, ECR_STEP, settings.ecrEndpoint, { method: "POST", headers, body });
  let json: { __type?: unknown; authorizationData?: { authorizationToken?: unknown; expiresAt?: unknown }[] } | undefined;
  try {
    json = JSON.parse(answer.text);
  } catch {
    json = undefined;
  }
  if (answer.status !== 200) {
    // JSON 1.1 errors: {"__type": "[namespace#]AccessDeniedException", "message": …}
    const type = typeof json?.__type === "string" ? json.__type.split("#").pop() : undefined;
    throw refused(ECR_STEP, answer.status, type?.replace(/Exception$/, ""));
  }
  const data = json?.authorizationData?.[0];
  const token = data?.authorizationToken;
  const expiresAt = data?.expiresAt;
  if (typeof token !== "string" || !/^[A-Za-z0-9+/]+=*$/.test(token) || typeof expiresAt !== "number") throw new UpstreamError(502, `${ECR_STEP} answered without an authorization token`);
  // The token is base64 of "AWS:<password>": exactly the Basic credential.
  return { authorization: `Basic ${token}`, expiresAt: Math.floor(expiresAt * 1000) };
}

export function ecrSource(settings: EcrSettings): CredentialSource {
  return {
    mode: "ecr",
    perScope: false,
    async mint(ctx) {
      const credentials = settings.identity.kind === "keyless" ? await assumeRole(ctx, settings.identity) : settings.identity.credentials;
      return authorizationToken(ctx, settings, credentials);
    },
  };
}
