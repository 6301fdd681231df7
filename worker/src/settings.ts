/**
 * The token server's settings, read from wrangler vars/secrets (or `.dev.vars`).
 * A missing or invalid setting fails every request with a 500 naming it: never
 * a half-working server that issues tokens with a default it shouldn't have.
 */
import { booleanSetting, SettingError } from "@jwt-registry-auth/protocol";
import { settingsReader } from "@jwt-registry-auth/protocol/settings-reader";
import type { Env } from "./env.ts";
import { checkValidity, readSigningKeys, SigningKeyError, type SigningKeySet } from "@jwt-registry-auth/core/signing-keys/signing-key-set";

export interface Settings {
  /** `iss` of every registry token; the registry's `auth.token.issuer`. */
  readonly tokenIssuer: string;
  readonly tokenTtlSeconds: number;
  /** Services (registry `auth.token.service`) tokens may be issued for; undefined = any. */
  readonly allowedServices: ReadonlySet<string> | undefined;
  readonly refreshMaxSeconds: number;
  readonly allowHttpLoopbackIssuers: boolean;
  /** Put the certificate chain in registry-token headers (off for `jwks`-only registries). */
  readonly x5c: boolean;
  readonly signing: SigningKeySet;
  /** What keeps this deployment from being production-ready; /healthz reports it, and it is logged once per isolate. */
  readonly productionWarnings: readonly string[];
}

/**
 * Without ALLOWED_SERVICES a client names any service it likes: a workload token
 * minted for another relying party whose name is a `service` (aud `sigstore`)
 * buys a registry token for it from a provider with default audiences.
 */
export const ALLOWED_SERVICES_WARNING =
  "ALLOWED_SERVICES is empty: tokens are issued for any service a client names, so a workload token minted for another relying party can buy a registry token for it. Set ALLOWED_SERVICES to your registries' auth.token.service values; it is required in production.";

const DAY = 86_400;

function integer(env: Env, setting: keyof Env & string, fallback: number, min: number, max: number): number {
  const raw = env[setting];
  if (raw === undefined || raw === "") return fallback;
  if (typeof raw !== "string" || !/^\d+$/.test(raw.trim())) throw new SettingError(setting, `${setting} must be a whole number of seconds`);
  const value = Number(raw.trim());
  if (value < min || value > max) throw new SettingError(setting, `${setting} must be between ${min} and ${max}`);
  return value;
}

function boolean(env: Env, setting: "ALLOW_HTTP_LOOPBACK_ISSUERS" | "TOKEN_X5C", fallback: boolean): boolean {
  return booleanSetting(setting, env[setting], fallback);
}

async function readSettings(env: Env): Promise<Settings> {
  const tokenIssuer = (env.TOKEN_ISSUER ?? "").trim();
  if (tokenIssuer === "") throw new SettingError("TOKEN_ISSUER", "TOKEN_ISSUER is not set: it must equal the registry's auth.token.issuer");
  const services = (env.ALLOWED_SERVICES ?? "").split(/[\s,]+/).filter((s) => s !== "");
  let signing: SigningKeySet;
  try {
    signing = await readSigningKeys(env.SIGNING_KEY, env.SIGNING_CERT);
  } catch (error) {
    if (error instanceof SigningKeyError) throw new SettingError(error.setting, error.message);
    throw error;
  }
  return {
    tokenIssuer,
    // Distribution's own token server defaults to 5 minutes; a day is the most any registry client needs.
    tokenTtlSeconds: integer(env, "TOKEN_TTL_SECONDS", 300, 60, DAY),
    allowedServices: services.length > 0 ? new Set(services) : undefined,
    refreshMaxSeconds: integer(env, "REFRESH_TOKEN_MAX_SECONDS", DAY, 0, 30 * DAY),
    allowHttpLoopbackIssuers: boolean(env, "ALLOW_HTTP_LOOPBACK_ISSUERS", false),
    x5c: boolean(env, "TOKEN_X5C", true),
    signing,
    productionWarnings: services.length > 0 ? [] : [ALLOWED_SERVICES_WARNING],
  };
}

/** Once per isolate (per settings read): the first request's log says what is not production-ready. */
function logProductionWarnings(settings: Settings): void {
  if (settings.productionWarnings.length > 0) console.warn(JSON.stringify({ event: "not_production_ready", warnings: settings.productionWarnings }));
}

/** Every env value the settings are read from: a change to any of them reads them again. */
const SETTING_NAMES = ["TOKEN_ISSUER", "TOKEN_TTL_SECONDS", "ALLOWED_SERVICES", "SIGNING_KEY", "SIGNING_CERT", "REFRESH_TOKEN_MAX_SECONDS", "ALLOW_HTTP_LOOPBACK_ISSUERS", "TOKEN_X5C"] as const;

// Parsing, and importing the signing keys, happens once per isolate and settings change.
const readOnce = settingsReader<Env, Promise<Settings>>(SETTING_NAMES, (env) => {
  const settings = readSettings(env);
  settings.then(logProductionWarnings, () => undefined);
  return settings;
});

export async function loadSettings(env: Env): Promise<Settings> {
  const settings = await readOnce(env);
  // An isolate can outlive its certificate: registries would refuse the tokens, so say why instead.
  try {
    checkValidity(settings.signing, Math.floor(Date.now() / 1000));
  } catch (error) {
    if (error instanceof SigningKeyError) throw new SettingError(error.setting, error.message);
    throw error;
  }
  return settings;
}
