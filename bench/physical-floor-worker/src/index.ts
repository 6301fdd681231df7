/**
 * The physical floor of a token request: what any token server has to do for
 * the bench's request, written with `crypto.subtle` only and every key imported
 * once per isolate. Nothing from the token server's own modules (the module
 * floor, bench/floor-worker/, keeps those):
 *
 *   GET /floor?service=…  Authorization: Basic provider:JWT
 *       parse Basic → split the GitHub-shaped JWT → verify its signature
 *       (RS256 or ES256, key by `kid`) → read its claims and check iss, aud,
 *       exp, nbf → sign an ES256 registry token with an x5c header → the same
 *       JSON body the token server answers
 *   GET /noop             200, empty: what the runtime and HTTP cost alone
 *
 * PHYSICAL_FLOOR (JSON, set by the bench): per provider name its issuer and
 * public JWKS, and the access the token server grants for the bench's scopes.
 */

interface Jwk extends JsonWebKey {
  readonly kid?: string;
}

interface Env {
  readonly PHYSICAL_FLOOR: string;
  /** PKCS#8 PEM (the token server's SIGNING_KEY): an ES256 key. */
  readonly SIGNING_KEY: string;
  /** The certificate PEM (the token server's SIGNING_CERT); its first block goes in x5c. */
  readonly SIGNING_CERT: string;
  readonly TOKEN_ISSUER: string;
  readonly TOKEN_TTL_SECONDS: string;
}

interface FloorInput {
  readonly providers: Readonly<Record<string, { readonly issuer: string; readonly jwks: { readonly keys: readonly Jwk[] } }>>;
  readonly access: readonly unknown[];
}

interface Provider {
  readonly issuer: string;
  /** kid → [JWS alg, imported key]. */
  readonly keys: ReadonlyMap<string, readonly [string, CryptoKey]>;
}

interface Floor {
  readonly providers: ReadonlyMap<string, Provider>;
  readonly access: readonly unknown[];
  readonly signingKey: CryptoKey;
  /** base64url of the registry token's protected header, built once. */
  readonly header: string;
  readonly issuer: string;
  readonly ttl: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

function bytesFromBinary(binary: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function base64urlDecode(text: string): Uint8Array<ArrayBuffer> {
  return bytesFromBinary(atob(text.replace(/-/g, "+").replace(/_/g, "/")));
}

function base64Encode(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i] as number);
  return btoa(binary);
}

const base64url = (bytes: Uint8Array): string => base64Encode(bytes).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");

function pemBody(pem: string): string {
  const match = /-----BEGIN [A-Z ]+-----([\s\S]*?)-----END [A-Z ]+-----/.exec(pem);
  if (!match) throw new Error("not PEM");
  return (match[1] as string).replace(/\s+/g, "");
}

const VERIFY: Record<string, [RsaHashedImportParams | EcKeyImportParams, AlgorithmIdentifier | EcdsaParams]> = {
  RS256: [{ name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, { name: "RSASSA-PKCS1-v1_5" }],
  ES256: [{ name: "ECDSA", namedCurve: "P-256" }, { name: "ECDSA", hash: "SHA-256" }],
};

let loading: Promise<Floor> | undefined;

/** Every key imported once per isolate, as a token server keeps them. */
function floorOf(env: Env): Promise<Floor> {
  loading ??= (async () => {
    const input = JSON.parse(env.PHYSICAL_FLOOR) as FloorInput;
    const providers = new Map<string, Provider>();
    for (const [name, p] of Object.entries(input.providers)) {
      const keys = new Map<string, readonly [string, CryptoKey]>();
      for (const jwk of p.jwks.keys) {
        const params = VERIFY[jwk.alg ?? ""];
        if (params === undefined || jwk.kid === undefined) continue;
        keys.set(jwk.kid, [jwk.alg as string, await crypto.subtle.importKey("jwk", jwk, params[0], false, ["verify"])]);
      }
      providers.set(name, { issuer: p.issuer, keys });
    }
    const signingKey = await crypto.subtle.importKey("pkcs8", base64urlDecode(pemBody(env.SIGNING_KEY)), { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
    const header = base64url(encoder.encode(JSON.stringify({ alg: "ES256", typ: "JWT", kid: "floor", x5c: [pemBody(env.SIGNING_CERT)] })));
    return { providers, access: input.access, signingKey, header, issuer: env.TOKEN_ISSUER, ttl: Number(env.TOKEN_TTL_SECONDS) };
  })();
  return loading;
}

const refuse = (why: string): Response => new Response(why, { status: 401 });

async function floor(request: Request, env: Env): Promise<Response> {
  const f = await floorOf(env);
  const match = /^Basic ([A-Za-z0-9+/]+={0,2})$/.exec(request.headers.get("Authorization") ?? "");
  if (!match) return refuse("no Basic credentials");
  const credentials = decoder.decode(bytesFromBinary(atob(match[1] as string)));
  const colon = credentials.indexOf(":");
  const provider = f.providers.get(credentials.slice(0, colon));
  if (colon <= 0 || provider === undefined) return refuse("unknown provider");
  const jwt = credentials.slice(colon + 1);
  const dot1 = jwt.indexOf(".");
  const dot2 = jwt.indexOf(".", dot1 + 1);
  if (dot1 < 0 || dot2 < 0) return refuse("not a JWT");
  const header = JSON.parse(decoder.decode(base64urlDecode(jwt.slice(0, dot1)))) as { alg?: string; kid?: string };
  const key = provider.keys.get(header.kid ?? "");
  if (key === undefined || key[0] !== header.alg) return refuse("unknown key");
  const signed = encoder.encode(jwt.slice(0, dot2));
  const valid = await crypto.subtle.verify((VERIFY[key[0]] as [unknown, AlgorithmIdentifier])[1], key[1], base64urlDecode(jwt.slice(dot2 + 1)), signed);
  if (!valid) return refuse("bad signature");
  const claims = JSON.parse(decoder.decode(base64urlDecode(jwt.slice(dot1 + 1, dot2)))) as { iss?: unknown; aud?: unknown; exp?: unknown; nbf?: unknown; sub?: unknown };
  const service = new URL(request.url).searchParams.get("service") ?? "";
  const now = Math.floor(Date.now() / 1000);
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (claims.iss !== provider.issuer || !audiences.includes(service) || typeof claims.exp !== "number" || claims.exp <= now) return refuse("claims");
  if (typeof claims.nbf === "number" && claims.nbf > now) return refuse("not yet valid");
  if (typeof claims.sub !== "string") return refuse("no sub");

  const payload = { iss: f.issuer, sub: `${credentials.slice(0, colon)}:${claims.sub}`, aud: service, exp: now + f.ttl, nbf: now, iat: now, jti: crypto.randomUUID(), access: f.access };
  const input = `${f.header}.${base64url(encoder.encode(JSON.stringify(payload)))}`;
  const signature = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, f.signingKey, encoder.encode(input)));
  const token = `${input}.${base64url(signature)}`;
  return Response.json({ token, access_token: token, expires_in: f.ttl, issued_at: new Date(now * 1000).toISOString() }, { headers: { "Cache-Control": "no-store" } });
}

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname === "/noop") return new Response(null, { status: 200 });
    if (pathname === "/floor") return floor(request, env);
    return new Response("not found", { status: 404 });
  },
} satisfies ExportedHandler<Env>;
