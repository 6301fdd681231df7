/** The annotation and label keys the controller reads and writes: one place, so docs and code agree. */
const PREFIX = "jwt-registry-auth.io";

/** On a ServiceAccount or Namespace: comma-separated registry hosts (or `*`) to get pull Secrets for. */
export const REGISTRIES_ANNOTATION = `${PREFIX}/registries`;

/** On a ServiceAccount, read by the credential provider: the token server provider (username). */
export const PROVIDER_ANNOTATION = `${PREFIX}/provider`;

/** On the pull Secrets the controller owns. */
export const SECRET_ANNOTATIONS = {
  registry: `${PREFIX}/registry`,
  serviceAccount: `${PREFIX}/service-account`,
  provider: `${PREFIX}/provider`,
  audience: `${PREFIX}/audience`,
  issuedAt: `${PREFIX}/issued-at`,
  expiresAt: `${PREFIX}/expires-at`,
  rotateAt: `${PREFIX}/rotate-at`,
  tokenSha256: `${PREFIX}/token-sha256`,
} as const;

export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY = "jwt-registry-auth-controller";
