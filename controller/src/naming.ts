/**
 * The pull Secret's name: `<serviceaccount>-registry-<host>`, made a valid
 * RFC 1123 subdomain and kept within the 253-character limit. Too-long names
 * are cut and get a hash of the full name, so the result is deterministic
 * (a restarted controller finds its Secret again) and distinct names stay
 * distinct.
 */
import { createHash } from "node:crypto";

export const MAX_NAME_LENGTH = 253;
const HASH_LENGTH = 10;

/** `Registry.example:5000` → `registry.example-5000`: lowercase, anything outside [a-z0-9.-] becomes `-`. */
function hostPart(host: string): string {
  return host
    .toLowerCase()
    .replace(/[^a-z0-9.-]/g, "-")
    .replace(/^[-.]+|[-.]+$/g, "");
}

/** Trailing `-`/`.` and `.-`/`-.`/`..` sequences are what a cut or a replacement can leave that RFC 1123 forbids. */
function tidy(name: string): string {
  return name.replace(/[-.]*\.[-.]*/g, (run) => (run.length === 1 ? run : ".")).replace(/[-.]+$/, "");
}

export function pullSecretName(serviceAccount: string, registryHost: string): string {
  const full = tidy(`${serviceAccount}-registry-${hostPart(registryHost)}`);
  if (full.length <= MAX_NAME_LENGTH) return full;
  const hash = createHash("sha256").update(`${serviceAccount}\0${registryHost}`).digest("hex").slice(0, HASH_LENGTH);
  return `${tidy(full.slice(0, MAX_NAME_LENGTH - HASH_LENGTH - 1))}-${hash}`;
}
