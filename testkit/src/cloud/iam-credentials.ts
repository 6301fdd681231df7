/**
 * Local stand-in for iamcredentials `POST /v1/projects/-/serviceAccounts/<email>:generateAccessToken`
 * (served by ./google-sts.ts's server): the caller's `Bearer` must be a
 * federated token that STS issued and that has not expired, its principal must
 * hold roles/iam.workloadIdentityUser on the service account, and the body
 * must ask for the cloud-platform scope. Errors in Google API's JSON shape
 * (`{"error":{"code","message","status"}}`): UNAUTHENTICATED (401),
 * PERMISSION_DENIED (403), INVALID_ARGUMENT (400), NOT_FOUND (404).
 */
import type { IncomingMessage, ServerResponse } from "node:http";

/** A federated token this STS issued: the principal it stands for and when it expires. */
export interface FederatedToken {
  readonly principal: string;
  readonly expiresAt: number;
}

export async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Service account email → the principal subjects (`sub`) granted roles/iam.workloadIdentityUser on it. */
export type ServiceAccountBindings = Readonly<Record<string, readonly string[]>>;

function apiError(response: ServerResponse, code: number, status: string, message: string): string {
  response.writeHead(code, { "Content-Type": "application/json; charset=utf-8" });
  response.end(JSON.stringify({ error: { code, message, status } }));
  return status;
}

export async function generateAccessToken(
  request: IncomingMessage,
  response: ServerResponse,
  context: { path: string; federated: ReadonlyMap<string, FederatedToken>; serviceAccounts: ServiceAccountBindings; registryPassword: string; seconds: number; now: () => number },
): Promise<string> {
  const match = /^\/v1\/projects\/-\/serviceAccounts\/([^/:]+):generateAccessToken$/.exec(context.path);
  if (!match) return apiError(response, 404, "NOT_FOUND", "Requested entity was not found.");
  const email = decodeURIComponent(match[1] as string);
  const bearer = /^Bearer (\S+)$/.exec(request.headers.authorization ?? "")?.[1];
  const caller = bearer === undefined ? undefined : context.federated.get(bearer);
  if (!caller || caller.expiresAt <= context.now()) return apiError(response, 401, "UNAUTHENTICATED", "Request had invalid authentication credentials.");
  let body: { scope?: unknown; lifetime?: unknown };
  try {
    body = JSON.parse(await readBody(request)) as typeof body;
  } catch {
    return apiError(response, 400, "INVALID_ARGUMENT", "Invalid JSON payload received.");
  }
  if (!Array.isArray(body.scope) || !body.scope.includes("https://www.googleapis.com/auth/cloud-platform")) return apiError(response, 400, "INVALID_ARGUMENT", "Scope required.");
  const granted = context.serviceAccounts[email] ?? [];
  if (!granted.some((sub) => caller.principal.endsWith(`/subject/${sub}`))) {
    return apiError(response, 403, "PERMISSION_DENIED", "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).");
  }
  const expireTime = new Date(context.now() + context.seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
  response.writeHead(200, { "Content-Type": "application/json; charset=utf-8" });
  response.end(JSON.stringify({ accessToken: context.registryPassword, expireTime }));
  return "ok";
}
