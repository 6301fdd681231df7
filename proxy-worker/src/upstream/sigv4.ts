/**
 * AWS Signature Version 4 over WebCrypto (HMAC-SHA256), for the two AWS calls
 * the proxy makes (ECR GetAuthorizationToken; STS needs none). Checked against
 * AWS's published aws-sig-v4-test-suite (sigv4.test.ts). No SDK: the bundle
 * stays small.
 */

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Temporary credentials' session token: signed as `X-Amz-Security-Token`. */
  readonly sessionToken?: string;
}

export interface SigV4Request {
  readonly method: string;
  /** The path as sent (for the services the proxy calls: "/"). */
  readonly path: string;
  /** The query string without `?`, as sent. */
  readonly query: string;
  /** Every header to sign, including `Host` and `X-Amz-Date`; repeated names are joined with ",". */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: string;
}

export interface SigV4Scope {
  readonly region: string;
  readonly service: string;
  /** `YYYYMMDDTHHMMSSZ`, the request's `X-Amz-Date`. */
  readonly amzDate: string;
}

const encoder = new TextEncoder();

function hex(buffer: ArrayBuffer): string {
  return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export async function sha256HexOf(text: string): Promise<string> {
  return hex(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

async function hmac(key: ArrayBuffer | Uint8Array, data: string): Promise<ArrayBuffer> {
  const cryptoKey = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(data));
}

/** RFC 3986 unreserved characters stay; everything else is %XX (upper case), as SigV4 wants. */
function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function canonicalQuery(query: string): string {
  if (query === "") return "";
  const pairs = query.split("&").map((pair) => {
    const at = pair.indexOf("=");
    const [name, value] = at === -1 ? [pair, ""] : [pair.slice(0, at), pair.slice(at + 1)];
    const decode = (s: string): string => decodeURIComponent(s.replace(/\+/g, " "));
    return [uriEncode(decode(name)), uriEncode(decode(value))] as const;
  });
  pairs.sort(([an, av], [bn, bv]) => (an < bn ? -1 : an > bn ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([n, v]) => `${n}=${v}`).join("&");
}

function canonicalHeaders(headers: SigV4Request["headers"]): { text: string; signed: string } {
  const byName = new Map<string, string[]>();
  for (const [name, value] of headers) {
    const key = name.toLowerCase();
    const values = byName.get(key) ?? [];
    values.push(value.trim().replace(/\s+/g, " "));
    byName.set(key, values);
  }
  const names = [...byName.keys()].sort();
  return { text: names.map((n) => `${n}:${(byName.get(n) as string[]).join(",")}\n`).join(""), signed: names.join(";") };
}

export async function canonicalRequest(request: SigV4Request): Promise<{ text: string; signedHeaders: string }> {
  const headers = canonicalHeaders(request.headers);
  const text = [request.method, request.path, canonicalQuery(request.query), headers.text, headers.signed, await sha256HexOf(request.body)].join("\n");
  return { text, signedHeaders: headers.signed };
}

/** The `Authorization` header value for `request`. */
export async function authorization(request: SigV4Request, credentials: AwsCredentials, scope: SigV4Scope): Promise<string> {
  const date = scope.amzDate.slice(0, 8);
  const credentialScope = `${date}/${scope.region}/${scope.service}/aws4_request`;
  const canonical = await canonicalRequest(request);
  const stringToSign = ["AWS4-HMAC-SHA256", scope.amzDate, credentialScope, await sha256HexOf(canonical.text)].join("\n");
  let key = await hmac(encoder.encode(`AWS4${credentials.secretAccessKey}`), date);
  for (const part of [scope.region, scope.service, "aws4_request"]) key = await hmac(key, part);
  const signature = hex(await hmac(key, stringToSign));
  return `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${credentialScope}, SignedHeaders=${canonical.signedHeaders}, Signature=${signature}`;
}

/** `YYYYMMDDTHHMMSSZ` for an epoch-ms time. */
export function amzDate(nowMs: number): string {
  return new Date(nowMs).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

/**
 * Headers for a signed POST of `body` to `url`: `Host`, `X-Amz-Date`, the
 * session token when there is one, the caller's, and `Authorization`.
 */
export async function signedPostHeaders(
  url: URL,
  headers: Readonly<Record<string, string>>,
  body: string,
  credentials: AwsCredentials,
  options: { readonly region: string; readonly service: string; readonly nowMs: number },
): Promise<Record<string, string>> {
  const date = amzDate(options.nowMs);
  const all: Record<string, string> = { ...headers, Host: url.host, "X-Amz-Date": date, ...(credentials.sessionToken !== undefined && { "X-Amz-Security-Token": credentials.sessionToken }) };
  const request: SigV4Request = { method: "POST", path: url.pathname, query: url.search.replace(/^\?/, ""), headers: Object.entries(all), body };
  const { Host: _host, ...sent } = all; // fetch sets Host itself
  return { ...sent, Authorization: await authorization(request, credentials, { region: options.region, service: options.service, amzDate: date }) };
}
