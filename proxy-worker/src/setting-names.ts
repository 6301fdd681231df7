/**
 * The proxy's settings by name: what the settings reader watches
 * (settings.ts) and what `npm run start:proxy` passes through from the shell.
 */
import type { Env } from "./env.ts";

/** Every env value the settings are read from: a change to any of them reads them again. */
export const SETTING_NAMES = [
  "UPSTREAM_URL",
  "TOKEN_REALM",
  "TOKEN_SERVICE",
  "TOKEN_ISSUER",
  "TOKEN_SERVER",
  "TOKEN_JWKS_URL",
  "TOKEN_JWKS",
  "TOKEN_CERTS",
  "UPSTREAM_USERNAME",
  "UPSTREAM_PASSWORD",
  "PUBLIC_URL",
  "UPSTREAM_ALLOW_INSECURE_REALM",
  "UPSTREAM_ALLOW_INSECURE_REDIRECTS",
  "UPSTREAM_AUTH",
  "FEDERATION_SIGNING_KEY",
  "FEDERATION_SUBJECT",
  "AWS_REGION",
  "AWS_ROLE_ARN",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_STS_ENDPOINT",
  "ECR_API_ENDPOINT",
  "GAR_WORKLOAD_IDENTITY_PROVIDER",
  "GAR_SERVICE_ACCOUNT",
  "GAR_SERVICE_ACCOUNT_KEY",
  "GAR_STS_ENDPOINT",
  "GAR_IAM_CREDENTIALS_ENDPOINT",
  "ACR_TENANT_ID",
  "ACR_CLIENT_ID",
  "ACR_CLIENT_SECRET",
  "ACR_LOGIN_ENDPOINT",
  "QUAY_ROBOT",
  "QUAY_FEDERATION_AUDIENCE",
] as const satisfies readonly (keyof Env)[];
