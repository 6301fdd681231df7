/**
 * `jwt-registry-auth keys …`: make and inspect the token server's registry-token
 * signing keys.
 *
 * Exit codes: 0 done, 1 failed (files exist, a private key would be committable,
 * unusable or expired keys, I/O), 2 usage.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { checkValidity, readSigningKeys, SigningKeyError, type SigningKeySet } from "@jwt-registry-auth/core/signing-keys/signing-key-set";
import { assertNotCommittable, CommittablePathError } from "./commit-guard.ts";
import { CERT_FILE, DEFAULT_OUT_DIR, FileExistsError, KEY_FILE, writeSigningFiles } from "./files.ts";
import { DEFAULT_DAYS, DEFAULT_SUBJECT, GENERATED_ALGS, generateSigningMaterial, type GeneratedAlg } from "./material.ts";
import { registryConfigSnippet } from "./registry-config.ts";

const USAGE = `Usage:
  jwt-registry-auth keys generate [--out DIR] [--alg ES256|RS256] [--days N] [--subject CN]
                                  [--dev-vars FILE] [--force] [--realm URL] [--service NAME] [--issuer NAME]
      Writes DIR/${KEY_FILE} (SIGNING_KEY, mode 0600), DIR/${CERT_FILE} (SIGNING_CERT and the
      registry's rootcertbundle) and DIR/jwks.json (the registry's jwks, Distribution 3.x).
      --dev-vars FILE sets SIGNING_KEY and SIGNING_CERT in a wrangler .dev.vars file.
      Refuses (exit 1, nothing written) to put the private key or the .dev.vars file
      inside a git work tree where git does not ignore it.
      Defaults: --out ${DEFAULT_OUT_DIR}, --alg ES256, --days ${DEFAULT_DAYS}, --subject "${DEFAULT_SUBJECT}",
      --realm http://127.0.0.1:8787/token, --service registry, --issuer jwt-registry-auth.
  jwt-registry-auth keys show (--dir DIR | --key FILE --cert FILE)
      Prints alg, kid (RFC 7638), libtrust KeyID and validity of every key.`;

class UsageError extends Error {}

const MAX_DAYS = 36_500;

function fail(message: string): number {
  console.error(`jwt-registry-auth keys: ${message}`);
  return 1;
}

/** parseArgs' own errors (unknown option, missing value) are usage errors. */
function asUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function algOf(value: string | undefined): GeneratedAlg {
  const alg = (value ?? "ES256").toUpperCase();
  if (alg === "EDDSA" || alg === "ED25519") throw new UsageError("Ed25519 can't sign registry tokens: Distribution 2.8 panics on an Ed25519 certificate in its rootcertbundle; use ES256 or RS256");
  if (!(GENERATED_ALGS as readonly string[]).includes(alg)) throw new UsageError(`--alg must be ${GENERATED_ALGS.join(" or ")}, not ${JSON.stringify(value)}`);
  return alg as GeneratedAlg;
}

function daysOf(value: string | undefined): number {
  if (value === undefined) return DEFAULT_DAYS;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_DAYS) throw new UsageError(`--days must be a whole number from 1 to ${MAX_DAYS}`);
  return Number(value);
}

function subjectOf(value: string | undefined): string {
  if (value === undefined) return DEFAULT_SUBJECT;
  if (value.trim() === "" || value.length > 64) throw new UsageError("--subject must be 1 to 64 characters");
  return value;
}

function iso(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString();
}

async function generate(argv: string[]): Promise<number> {
  const { values } = asUsage(() =>
    parseArgs({
      args: argv,
      options: {
        out: { type: "string" },
        alg: { type: "string" },
        days: { type: "string" },
        subject: { type: "string" },
        "dev-vars": { type: "string" },
        force: { type: "boolean" },
        realm: { type: "string" },
        service: { type: "string" },
        issuer: { type: "string" },
      },
    }),
  );
  if (values.out === "") throw new UsageError("--out needs a directory");
  const outDir = values.out ?? DEFAULT_OUT_DIR;
  const options = { alg: algOf(values.alg), days: daysOf(values.days), subject: subjectOf(values.subject) };
  try {
    // Before generating: a refusal writes nothing.
    assertNotCommittable([join(outDir, KEY_FILE), ...(values["dev-vars"] !== undefined ? [values["dev-vars"]] : [])]);
  } catch (error) {
    if (error instanceof CommittablePathError) return fail(error.message);
    throw error;
  }
  const material = await generateSigningMaterial(options);
  let written;
  try {
    written = writeSigningFiles(outDir, material, { force: values.force === true, ...(values["dev-vars"] !== undefined && { devVarsPath: values["dev-vars"] }) });
  } catch (error) {
    if (error instanceof FileExistsError) return fail(error.message);
    return fail(`could not write the key files: ${(error as Error).message}`);
  }
  console.log(`Wrote ${written.keyPath} (private key: the SIGNING_KEY secret; mode 0600)`);
  console.log(`      ${written.certPath} (certificate: the SIGNING_CERT secret and the registry's rootcertbundle)`);
  console.log(`      ${written.jwksPath} (public JWKS: the registry's jwks file, Distribution 3.x)`);
  if (values["dev-vars"] !== undefined) console.log(`Set SIGNING_KEY and SIGNING_CERT in ${values["dev-vars"]}`);
  console.log("");
  console.log(`alg:            ${material.alg}`);
  console.log(`kid:            ${material.kid}  (RFC 7638 thumbprint)`);
  console.log(`libtrust KeyID: ${material.libtrustKeyId}`);
  console.log(`notAfter:       ${iso(material.notAfter)}`);
  console.log("");
  console.log("Registry configuration (config.yml):");
  console.log(
    registryConfigSnippet({
      realm: values.realm ?? "http://127.0.0.1:8787/token",
      service: values.service ?? "registry",
      issuer: values.issuer ?? "jwt-registry-auth",
      certPath: resolve(written.certPath),
      jwksPath: resolve(written.jwksPath),
    }),
  );
  console.log("Token server secrets:");
  console.log(`  npx wrangler secret put SIGNING_KEY < ${written.keyPath}`);
  console.log(`  npx wrangler secret put SIGNING_CERT < ${written.certPath}`);
  return 0;
}

function describeKeySet(set: SigningKeySet, now: number): void {
  set.all.forEach((key, i) => {
    const state = key.notAfter <= now ? "EXPIRED" : key.notBefore > now ? "not yet valid" : "valid";
    console.log(`key ${i + 1}${key === set.current ? " (signs)" : ""}:`);
    console.log(`  alg:            ${key.alg}`);
    console.log(`  kid:            ${key.kid}`);
    console.log(`  libtrust KeyID: ${key.libtrustKeyId}`);
    console.log(`  notBefore:      ${iso(key.notBefore)}`);
    console.log(`  notAfter:       ${iso(key.notAfter)} (${state})`);
  });
}

async function show(argv: string[]): Promise<number> {
  const { values } = asUsage(() => parseArgs({ args: argv, options: { dir: { type: "string" }, key: { type: "string" }, cert: { type: "string" } } }));
  const { dir, key, cert } = values;
  const files = dir !== undefined && key === undefined && cert === undefined ? { keyFile: join(dir, KEY_FILE), certFile: join(dir, CERT_FILE) } : dir === undefined && key !== undefined && cert !== undefined ? { keyFile: key, certFile: cert } : undefined;
  if (!files) throw new UsageError("keys show needs either --dir DIR or both --key FILE and --cert FILE");
  const { keyFile, certFile } = files;
  let keyPem: string;
  let certPem: string;
  try {
    keyPem = readFileSync(keyFile, "utf8");
    certPem = readFileSync(certFile, "utf8");
  } catch (error) {
    return fail(`could not read the key files: ${(error as Error).message}`);
  }
  const now = Math.floor(Date.now() / 1000);
  let set: SigningKeySet;
  try {
    set = await readSigningKeys(keyPem, certPem);
    describeKeySet(set, now);
    checkValidity(set, now);
  } catch (error) {
    // Messages name the setting these files become (SIGNING_KEY/SIGNING_CERT) and never hold key material.
    if (error instanceof SigningKeyError) return fail(`${error.setting === "SIGNING_KEY" ? keyFile : certFile}: ${error.message}`);
    throw error;
  }
  return 0;
}

export async function keysCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    switch (sub) {
      case "generate":
        return await generate(rest);
      case "show":
        return await show(rest);
      case "help":
      case "--help":
      case "-h":
        console.log(USAGE);
        return 0;
      default:
        throw new UsageError(sub === undefined ? "missing subcommand" : `unknown subcommand ${JSON.stringify(sub)}`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`jwt-registry-auth keys: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    throw error;
  }
}
