/**
 * Writes the generated key files. All or nothing: existing files are refused
 * unless `force`, every file is written to a temporary name first and renamed
 * into place only when all writes succeeded. The private key (and a new
 * .dev.vars holding it) gets mode 0600.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import type { SigningMaterial } from "./material.ts";
import { updateDevVars } from "./dev-vars.ts";

export const KEY_FILE = "signing-key.pem";
export const CERT_FILE = "signing-cert.pem";
export const JWKS_FILE = "jwks.json";
/**
 * Where `keys generate` writes without --out: a dot folder that this
 * repository's .gitignore ignores, so a checkout never commits it.
 */
export const DEFAULT_OUT_DIR = ".keys";

export class FileExistsError extends Error {
  override readonly name = "FileExistsError";
}

export interface WrittenFiles {
  readonly keyPath: string;
  readonly certPath: string;
  readonly jwksPath: string;
}

interface PendingFile {
  readonly path: string;
  readonly content: string;
  readonly mode: number;
}

/** Writes every file or none (a failure before the renames leaves nothing behind). */
function writeAll(files: readonly PendingFile[]): void {
  const temps: string[] = [];
  try {
    for (const file of files) {
      const temp = join(dirname(file.path), `.${randomBytes(6).toString("hex")}.tmp`);
      temps.push(temp);
      writeFileSync(temp, file.content, { mode: file.mode, flag: "wx" });
      chmodSync(temp, file.mode); // the umask may have narrowed (or the caller widened) the mode
    }
    files.forEach((file, i) => renameSync(temps[i] as string, file.path));
  } catch (error) {
    for (const temp of temps) rmSync(temp, { force: true });
    throw error;
  }
}

export interface WriteOptions {
  /** Replace existing key files. */
  readonly force: boolean;
  /** A wrangler .dev.vars file to set SIGNING_KEY and SIGNING_CERT in, keeping its other lines. */
  readonly devVarsPath?: string;
}

/** A .dev.vars file with SIGNING_KEY and SIGNING_CERT set; it keeps its mode, a new one gets 0600. */
function devVarsFile(path: string, material: SigningMaterial): PendingFile {
  const exists = existsSync(path);
  return {
    path,
    content: updateDevVars(exists ? readFileSync(path, "utf8") : "", { SIGNING_KEY: material.keyPem, SIGNING_CERT: material.certPem }),
    mode: exists ? statSync(path).mode & 0o777 : 0o600,
  };
}

/** Writes DIR/signing-key.pem (0600), DIR/signing-cert.pem, DIR/jwks.json and the optional .dev.vars, all or none. */
export function writeSigningFiles(dir: string, material: SigningMaterial, options: WriteOptions): WrittenFiles {
  const keyPath = join(dir, KEY_FILE);
  const certPath = join(dir, CERT_FILE);
  const jwksPath = join(dir, JWKS_FILE);
  const existing = [keyPath, certPath, jwksPath].filter((p) => existsSync(p));
  if (existing.length > 0 && !options.force) throw new FileExistsError(`refusing to overwrite ${existing.join(", ")} (use --force to replace them)`);
  const devVars = options.devVarsPath === undefined ? [] : [devVarsFile(options.devVarsPath, material)];
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeAll([
    { path: keyPath, content: material.keyPem, mode: 0o600 },
    { path: certPath, content: material.certPem, mode: 0o644 },
    { path: jwksPath, content: `${JSON.stringify(material.jwks, null, 2)}\n`, mode: 0o644 },
    ...devVars,
  ]);
  return { keyPath, certPath, jwksPath };
}
