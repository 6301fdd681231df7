/**
 * The proxy as an OIDC issuer, so clouds can trust it through workload identity
 * federation and no cloud secret is stored: its own ES256 key
 * (FEDERATION_SIGNING_KEY, PKCS#8 PEM as `cli keys generate` writes it), the
 * discovery document and JWKS on its own origin (PUBLIC_URL is `iss`), and
 * short-lived federation JWTs for one audience at a time.
 *
 * A federation JWT carries `typ: FEDERATION_TOKEN_TYP`, never the registry
 * token's `JWT` nor the refresh token's type, and an `aud` naming a cloud: the
 * registry-token and refresh-token verifiers (which require their own `typ`)
 * refuse it even when it is signed by a key they trust.
 */
import { calculateJwkThumbprint, exportJWK, importPKCS8, SignJWT, type JWK } from "jose";
import { FEDERATION_TOKEN_TYP, SettingError } from "@jwt-registry-auth/protocol";

/** Distinct from registry tokens (`JWT`) and refresh tokens (`jwt-registry-auth.refresh+jwt`); beside them in protocol. */
export { FEDERATION_TOKEN_TYP };
export const FEDERATION_TOKEN_SECONDS = 300;
export const FEDERATION_ALG = "ES256";
export const DISCOVERY_PATH = "/.well-known/openid-configuration";
export const JWKS_PATH = "/.well-known/jwks.json";

export interface FederationSettings {
  /** PUBLIC_URL's origin: `iss`, and where the discovery document and JWKS are served. */
  readonly issuer: string;
  /** FEDERATION_SUBJECT: the `sub` a cloud's trust policy pins. */
  readonly subject: string;
  /** FEDERATION_SIGNING_KEY (PEM). */
  readonly keyPem: string;
}

interface FederationKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

const PRIVATE_JWK_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "key_ops", "ext"];

/** jose's PKCS#8 reader; errors name the setting and never quote the key. */
async function readKey(pem: string): Promise<FederationKey> {
  const blocks = pem.match(/-----BEGIN [A-Z ]+-----/g) ?? [];
  if (blocks.length !== 1 || blocks[0] !== "-----BEGIN PRIVATE KEY-----") {
    throw new SettingError("FEDERATION_SIGNING_KEY", "FEDERATION_SIGNING_KEY must hold exactly one PKCS#8 PEM private key (BEGIN PRIVATE KEY), as `cli keys generate --alg ES256` writes it");
  }
  let extractable: CryptoKey;
  try {
    extractable = (await importPKCS8(pem, FEDERATION_ALG, { extractable: true })) as CryptoKey;
  } catch {
    throw new SettingError("FEDERATION_SIGNING_KEY", "FEDERATION_SIGNING_KEY is not an ES256 (P-256) PKCS#8 private key");
  }
  const exported = await exportJWK(extractable);
  const publicJwk = Object.fromEntries(Object.entries(exported).filter(([member]) => !PRIVATE_JWK_MEMBERS.includes(member))) as JWK;
  const kid = await calculateJwkThumbprint(publicJwk, "sha256");
  // The signing key itself stays non-extractable.
  const privateKey = (await importPKCS8(pem, FEDERATION_ALG)) as CryptoKey;
  return { kid, privateKey, publicJwk: { ...publicJwk, kid, alg: FEDERATION_ALG, use: "sig" } };
}

export class FederationIssuer {
  private key: Promise<FederationKey> | undefined;

  constructor(readonly settings: FederationSettings) {}

  /** Throws {@link SettingError} (FEDERATION_SIGNING_KEY) when the key is unusable; read once. */
  private current(): Promise<FederationKey> {
    this.key ??= readKey(this.settings.keyPem);
    return this.key;
  }

  /** The OIDC discovery document: what AWS, GCP and Entra read to find the JWKS. */
  discovery(): Record<string, unknown> {
    return {
      issuer: this.settings.issuer,
      jwks_uri: `${this.settings.issuer}${JWKS_PATH}`,
      response_types_supported: ["id_token"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: [FEDERATION_ALG],
      claims_supported: ["iss", "sub", "aud", "exp", "iat", "nbf", "jti"],
    };
  }

  async jwks(): Promise<{ keys: JWK[] }> {
    return { keys: [(await this.current()).publicJwk] };
  }

  /** A federation JWT for `audience`, valid {@link FEDERATION_TOKEN_SECONDS} from `nowMs`. */
  async token(audience: string, nowMs: number): Promise<string> {
    const key = await this.current();
    const now = Math.floor(nowMs / 1000);
    return new SignJWT({ jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: FEDERATION_ALG, typ: FEDERATION_TOKEN_TYP, kid: key.kid })
      .setIssuer(this.settings.issuer)
      .setSubject(this.settings.subject)
      .setAudience(audience)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + FEDERATION_TOKEN_SECONDS)
      .sign(key.privateKey);
  }

  /** The issuer routes, or undefined for any other path. */
  async serve(pathname: string): Promise<Response | undefined> {
    const headers = { "Cache-Control": "public, max-age=300" };
    if (pathname === DISCOVERY_PATH) return Response.json(this.discovery(), { headers });
    if (pathname === JWKS_PATH) return Response.json(await this.jwks(), { headers });
    return undefined;
  }
}

const issuers = new Map<string, FederationIssuer>();

/** Isolate-wide per settings, so the key is imported once. */
export function federationIssuer(settings: FederationSettings): FederationIssuer {
  const id = JSON.stringify([settings.issuer, settings.subject, settings.keyPem]);
  let issuer = issuers.get(id);
  if (!issuer) issuers.set(id, (issuer = new FederationIssuer(settings)));
  return issuer;
}
