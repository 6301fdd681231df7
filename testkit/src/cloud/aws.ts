/**
 * Local stand-ins for the two AWS endpoints the proxy's `ecr` mode calls, on
 * one loopback server (told apart as AWS does: the query API's `Action` form
 * field vs the JSON 1.1 `X-Amz-Target` header):
 *
 * - STS `AssumeRoleWithWebIdentity` (unsigned, form body, XML answer): the
 *   WebIdentityToken is verified as AWS does — a registered IAM OIDC provider
 *   for its `iss`, discovery and JWKS fetched from that issuer, signature,
 *   `aud` = `sts.amazonaws.com`, `exp` — and the role's trust policy (issuer
 *   and `sub`) must admit it. Errors in AWS's XML shape: InvalidIdentityToken,
 *   ExpiredTokenException, IDPCommunicationError (400), AccessDenied (403).
 * - ECR `GetAuthorizationToken` (JSON 1.1): the SigV4 `Authorization` header
 *   is recomputed from the request (node:crypto, independently of the proxy's
 *   signer) with the secret of the key it names; temporary keys need their
 *   `X-Amz-Security-Token`; `X-Amz-Date` must be within 5 minutes. Errors as
 *   `{"__type": …, "message": …}`: InvalidSignatureException,
 *   UnrecognizedClientException, ExpiredTokenException, AccessDeniedException.
 *
 * The password handed out is the one the registry's htpasswd holds
 * (`registryPassword`), inside base64 `AWS:<password>`, valid for
 * `tokenSeconds` (12 h by default, short for tests that let it expire).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { verifyFederationJwt } from "./federation-verifier.ts";

export interface AwsRoleTrust {
  /** The OIDC provider (issuer URL) the role trusts. */
  readonly issuer: string;
  /** The `sub` the trust policy's condition pins (`<issuer host>:sub`). */
  readonly subject: string;
}

export interface AwsStandInOptions {
  readonly region?: string;
  /** Registered IAM OIDC providers. */
  readonly oidcProviders?: readonly string[];
  /** Role ARN → trust policy. */
  readonly roles?: Readonly<Record<string, AwsRoleTrust>>;
  /** Long-term access key pairs (the keyed variant). */
  readonly accessKeys?: Readonly<Record<string, string>>;
  /** The password the registry behind accepts for user AWS. */
  readonly registryPassword: string;
  readonly registryEndpoint?: string;
  /** Lifetime of the temporary credentials (s). */
  readonly credentialSeconds?: number;
  /** Lifetime of the ECR authorization token (s). Default 12 h. */
  readonly tokenSeconds?: number;
  /** The IAM OIDC provider's client ID list (default [sts.amazonaws.com]): the `aud` STS accepts. */
  readonly audience?: string;
  /** AWS's clock (epoch ms): shift it to simulate skew. */
  readonly now?: () => number;
}

export interface AwsStandIn {
  readonly url: string;
  readonly region: string;
  /** Calls answered, by endpoint and outcome code ("ok" or the AWS error code). */
  readonly calls: { sts: string[]; ecr: string[] };
  /** Make an endpoint refuse every call with this AWS error code (undefined: behave). */
  refuse(endpoint: "sts" | "ecr", code: string | undefined): void;
  /** Change the accepted audience (the provider's client ID) for later calls. */
  setAudience(audience: string): void;
  /** Change a lifetime for later mints. */
  setTokenSeconds(seconds: number): void;
  close(): Promise<void>;
}

export const AWS_AUDIENCE = "sts.amazonaws.com";
const SIGNATURE_WINDOW_MS = 5 * 60_000;

function sha256Hex(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac("sha256", key).update(data).digest();
}

function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** What AWS computes for a request: the canonical request over the headers the client says it signed. */
export function expectedSignature(request: { method: string; path: string; query: string; headers: IncomingMessage["headers"]; body: Buffer }, signedHeaders: string[], secret: string, scope: { amzDate: string; region: string; service: string }): string {
  const query = request.query === "" ? "" : request.query.split("&").map((p) => p.split("=").map((s) => uriEncode(decodeURIComponent(s ?? ""))).join("=")).sort().join("&");
  const headerLines = signedHeaders.map((name) => {
    const value = request.headers[name];
    return `${name}:${(Array.isArray(value) ? value.join(",") : (value ?? "")).trim().replace(/\s+/g, " ")}\n`;
  });
  const canonical = [request.method, request.path, query, headerLines.join(""), signedHeaders.join(";"), sha256Hex(request.body)].join("\n");
  const date = scope.amzDate.slice(0, 8);
  const credentialScope = `${date}/${scope.region}/${scope.service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", scope.amzDate, credentialScope, sha256Hex(canonical)].join("\n");
  let key = hmac(`AWS4${secret}`, date);
  for (const part of [scope.region, scope.service, "aws4_request"]) key = hmac(key, part);
  return createHmac("sha256", key).update(stringToSign).digest("hex");
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function stsError(response: ServerResponse, status: number, code: string, message: string): string {
  response.writeHead(status, { "Content-Type": "text/xml" });
  response.end(
    `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">\n  <Error>\n    <Type>Sender</Type>\n    <Code>${code}</Code>\n    <Message>${escapeXml(message)}</Message>\n  </Error>\n  <RequestId>${randomBytes(16).toString("hex")}</RequestId>\n</ErrorResponse>\n`,
  );
  return code;
}

function ecrError(response: ServerResponse, status: number, type: string, message: string): string {
  response.writeHead(status, { "Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": type });
  response.end(JSON.stringify({ __type: type, message }));
  return type.replace(/Exception$/, "");
}

function amzDateMs(amzDate: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) : Number.NaN;
}

export async function startAwsStandIn(options: AwsStandInOptions): Promise<AwsStandIn> {
  const region = options.region ?? "us-east-1";
  const now = options.now ?? (() => Date.now());
  const temporary = new Map<string, { secret: string; sessionToken: string; expiresAt: number }>();
  const calls = { sts: [] as string[], ecr: [] as string[] };
  const refusing: { sts?: string | undefined; ecr?: string | undefined } = {};
  let tokenSeconds = options.tokenSeconds ?? 43_200;
  let audience = options.audience ?? AWS_AUDIENCE;

  async function sts(body: Buffer, response: ServerResponse): Promise<string> {
    const form = new URLSearchParams(body.toString("utf8"));
    if (form.get("Action") !== "AssumeRoleWithWebIdentity" || form.get("Version") !== "2011-06-15") return stsError(response, 400, "InvalidAction", "Could not find operation");
    if (refusing.sts) return stsError(response, refusing.sts === "AccessDenied" ? 403 : 400, refusing.sts, "refused by the stand-in");
    const roleArn = form.get("RoleArn") ?? "";
    const sessionName = form.get("RoleSessionName") ?? "";
    const token = form.get("WebIdentityToken") ?? "";
    if (!/^[\w+=,.@-]{2,64}$/.test(sessionName)) return stsError(response, 400, "ValidationError", "RoleSessionName is invalid");
    const verdict = await verifyFederationJwt(token, audience, { issuers: () => options.oidcProviders ?? [], now });
    if (!verdict.ok) {
      if (verdict.refusal === "expired") return stsError(response, 400, "ExpiredTokenException", "Token expired");
      if (verdict.refusal === "discovery_failed") return stsError(response, 400, "IDPCommunicationError", "Couldn't retrieve verification key from your identity provider");
      if (verdict.refusal === "wrong_audience") return stsError(response, 400, "InvalidIdentityToken", "Incorrect token audience");
      if (verdict.refusal === "unregistered_issuer") return stsError(response, 400, "InvalidIdentityToken", "No OpenIDConnect provider found in your account for this issuer");
      return stsError(response, 400, "InvalidIdentityToken", verdict.detail);
    }
    const trust = options.roles?.[roleArn];
    if (!trust || trust.issuer !== verdict.claims.iss || trust.subject !== verdict.claims.sub) return stsError(response, 403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity");
    const accessKeyId = `ASIA${randomBytes(8).toString("hex").toUpperCase()}`;
    const secret = randomBytes(30).toString("base64");
    const sessionToken = randomBytes(48).toString("base64");
    const seconds = Math.min(Number(form.get("DurationSeconds") ?? 3600), options.credentialSeconds ?? 3600);
    const expiresAt = now() + seconds * 1000;
    temporary.set(accessKeyId, { secret, sessionToken, expiresAt });
    response.writeHead(200, { "Content-Type": "text/xml" });
    response.end(`<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>${escapeXml(String(verdict.claims.sub))}</SubjectFromWebIdentityToken>
    <Audience>${AWS_AUDIENCE}</Audience>
    <AssumedRoleUser>
      <Arn>${escapeXml(roleArn.replace(":iam::", ":sts::").replace(":role/", ":assumed-role/"))}/${escapeXml(sessionName)}</Arn>
      <AssumedRoleId>AROA${randomBytes(8).toString("hex").toUpperCase()}:${escapeXml(sessionName)}</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <SessionToken>${sessionToken}</SessionToken>
      <SecretAccessKey>${secret}</SecretAccessKey>
      <Expiration>${new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, "Z")}</Expiration>
      <AccessKeyId>${accessKeyId}</AccessKeyId>
    </Credentials>
    <Provider>${escapeXml(String(verdict.claims.iss))}</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata>
    <RequestId>${randomBytes(16).toString("hex")}</RequestId>
  </ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>
`);
    return "ok";
  }

  function ecr(request: IncomingMessage, body: Buffer, response: ServerResponse): string {
    if (request.headers["x-amz-target"] !== "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken") return ecrError(response, 400, "UnknownOperationException", "");
    const authorization = request.headers.authorization ?? "";
    const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(authorization);
    if (!match) return ecrError(response, 400, "IncompleteSignatureException", "Authorization header requires Credential, SignedHeaders and Signature");
    const [, keyId = "", date = "", signedRegion = "", service = "", signedList = "", signature = ""] = match;
    const amzDate = String(request.headers["x-amz-date"] ?? "");
    const signed = signedList.split(";");
    if (!signed.includes("host") || !signed.includes("x-amz-date") || !amzDate.startsWith(date)) return ecrError(response, 400, "IncompleteSignatureException", "host and x-amz-date must be signed");
    if (service !== "ecr" || signedRegion !== region) return ecrError(response, 400, "InvalidSignatureException", "Credential should be scoped to a valid region and service ecr");
    if (Math.abs(amzDateMs(amzDate) - now()) > SIGNATURE_WINDOW_MS) return ecrError(response, 400, "InvalidSignatureException", "Signature expired");
    const temp = temporary.get(keyId);
    const secret = temp?.secret ?? options.accessKeys?.[keyId];
    if (secret === undefined) return ecrError(response, 400, "UnrecognizedClientException", "The security token included in the request is invalid.");
    if (temp) {
      if (request.headers["x-amz-security-token"] !== temp.sessionToken || !signed.includes("x-amz-security-token")) return ecrError(response, 400, "UnrecognizedClientException", "The security token included in the request is invalid.");
      if (temp.expiresAt <= now()) return ecrError(response, 400, "ExpiredTokenException", "The security token included in the request is expired");
    }
    const url = new URL(request.url ?? "/", "http://stand-in");
    const expected = expectedSignature({ method: request.method ?? "", path: url.pathname, query: url.search.replace(/^\?/, ""), headers: request.headers, body }, signed, secret, { amzDate, region, service });
    if (!timingSafeEqual(Buffer.from(expected), Buffer.from(signature))) return ecrError(response, 400, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided.");
    if (refusing.ecr) return ecrError(response, 400, `${refusing.ecr}Exception`, "refused by the stand-in");
    const token = Buffer.from(`AWS:${options.registryPassword}`).toString("base64");
    response.writeHead(200, { "Content-Type": "application/x-amz-json-1.1" });
    response.end(JSON.stringify({ authorizationData: [{ authorizationToken: token, expiresAt: (now() + tokenSeconds * 1000) / 1000, proxyEndpoint: options.registryEndpoint ?? "https://123456789012.dkr.ecr.us-east-1.amazonaws.com" }] }));
    return "ok";
  }

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks);
      const isEcr = request.headers["x-amz-target"] !== undefined;
      (isEcr ? Promise.resolve(ecr(request, body, response)) : sts(body, response))
        .then((outcome) => (isEcr ? calls.ecr : calls.sts).push(outcome))
        .catch(() => {
          response.writeHead(500);
          response.end();
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    region,
    calls,
    refuse(endpoint, code) {
      refusing[endpoint] = code;
    },
    setAudience(value) {
      audience = value;
    },
    setTokenSeconds(seconds) {
      tokenSeconds = seconds;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
