/**
 * The node installer (what deploy/node-installer/daemonset.yaml runs on every
 * node): puts a Node runtime, the single-file credential provider bundle, the
 * kubelet's plugin wrapper and its CredentialProviderConfig into host paths.
 *
 * Everything is read and checked before anything is written (a bad config
 * writes nothing), each file is replaced atomically (temp file + rename in the
 * same directory, so a kubelet never runs half a binary), and an unchanged
 * file is left alone, so a restarted installer is a no-op.
 */
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join } from "node:path";
import { parseAllDocuments } from "yaml";
import { parseProviderArgs } from "../credential-provider/args.ts";

/** The provider's name in the kubelet config; the kubelet runs `<bin-dir>/<name>`. */
export const PROVIDER_NAME = "jwt-registry-auth-credential-provider";

/** A refusal: bad paths, a missing source or a config the kubelet couldn't use. Nothing was written. */
export class InstallError extends Error {}

export interface InstallPaths {
  /** Where the host's filesystem is mounted in the installer's container ("" when run on the host itself). */
  readonly hostRoot: string;
  /** Host directory for the runtime and bundle. */
  readonly installDir: string;
  /** Host --image-credential-provider-bin-dir. */
  readonly binDir: string;
  /** Host --image-credential-provider-config file. */
  readonly configFile: string;
}

export interface InstallSources {
  /** The Node runtime binary to copy (the image's own). */
  readonly node: string;
  /** dist/credential-provider.mjs. */
  readonly bundle: string;
  /** The CredentialProviderConfig (a mounted ConfigMap key). */
  readonly config: string;
}

export interface InstalledFile {
  /** The host path. */
  readonly path: string;
  readonly changed: boolean;
}

/** The wrapper the kubelet execs: host paths only (it runs outside the container). */
export function wrapperScript(installDir: string): string {
  const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  return `#!/bin/sh\n# Installed by jwt-registry-auth-node-installer; overwritten on every install.\nexec ${quote(join(installDir, "node"))} ${quote(join(installDir, "credential-provider.mjs"))} "$@"\n`;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * Refuses a config the kubelet would not run this plugin from: not one
 * kubelet.config.k8s.io/v1 CredentialProviderConfig, no provider named
 * PROVIDER_NAME, args the plugin refuses, or no serviceAccountTokenAudience
 * (without it the kubelet sends no pod token, and the plugin has nothing to hand over).
 */
export function checkKubeletConfig(text: string, file: string): void {
  const fail = (why: string): never => {
    throw new InstallError(`${file}: ${why}`);
  };
  const docs = parseAllDocuments(text);
  const [doc] = docs;
  if (docs.length !== 1 || doc === undefined) return fail(`expected one YAML document, found ${docs.length}`);
  const [error] = doc.errors;
  if (error !== undefined) return fail(`line ${error.linePos?.[0].line ?? "?"}: ${error.message}`);
  const config: unknown = doc.toJS();
  if (!isRecord(config) || config["kind"] !== "CredentialProviderConfig" || config["apiVersion"] !== "kubelet.config.k8s.io/v1") {
    return fail("not a kubelet.config.k8s.io/v1 CredentialProviderConfig");
  }
  const providers = Array.isArray(config["providers"]) ? (config["providers"] as unknown[]) : [];
  const ours = providers.find((p) => isRecord(p) && p["name"] === PROVIDER_NAME);
  if (!isRecord(ours)) return fail(`no provider named ${PROVIDER_NAME} (the kubelet runs the bin-dir file of that name)`);
  const args: unknown = ours["args"];
  if (!Array.isArray(args) || !args.every((a): a is string => typeof a === "string")) return fail(`providers[${PROVIDER_NAME}].args must be a list of strings`);
  try {
    parseProviderArgs(args, {});
  } catch (error) {
    return fail(`providers[${PROVIDER_NAME}].args: ${(error as Error).message}`);
  }
  const attributes = ours["tokenAttributes"];
  const audience = isRecord(attributes) ? attributes["serviceAccountTokenAudience"] : undefined;
  if (typeof audience !== "string" || audience === "") {
    fail(`providers[${PROVIDER_NAME}].tokenAttributes.serviceAccountTokenAudience is required: the plugin answers with the pod's token`);
  }
}

/** Writes `content` to `path` by temp file + rename unless it is already there; returns whether it wrote. */
async function replaceIfChanged(path: string, content: Buffer, mode: number): Promise<boolean> {
  const current = await readFile(path).catch(() => undefined);
  if (current?.equals(content)) {
    if (((await stat(path)).mode & 0o777) !== mode) await chmod(path, mode);
    return false;
  }
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.tmp-${process.pid}`;
  try {
    await writeFile(temp, content, { mode });
    await chmod(temp, mode); // writeFile's mode is masked by the umask
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  return true;
}

export async function install(paths: InstallPaths, sources: InstallSources): Promise<InstalledFile[]> {
  for (const [flag, path] of Object.entries({ "--install-dir": paths.installDir, "--bin-dir": paths.binDir, "--config-file": paths.configFile })) {
    if (!isAbsolute(path)) throw new InstallError(`${flag}: expected an absolute host path, got ${JSON.stringify(path)}`);
  }
  const read = (what: string, path: string): Promise<Buffer> =>
    readFile(path).catch((error: NodeJS.ErrnoException) => {
      throw new InstallError(`${what} ${path}: ${error.code ?? error.message}`);
    });
  const [node, bundle, config] = await Promise.all([read("node runtime", sources.node), read("bundle", sources.bundle), read("kubelet config", sources.config)]);
  checkKubeletConfig(config.toString("utf8"), sources.config);
  const files: [string, Buffer, number][] = [
    [join(paths.installDir, "node"), node, 0o755],
    [join(paths.installDir, "credential-provider.mjs"), bundle, 0o644],
    // The wrapper after both: the kubelet never finds a plugin without its runtime.
    [join(paths.binDir, PROVIDER_NAME), Buffer.from(wrapperScript(paths.installDir)), 0o755],
    [paths.configFile, config, 0o644],
  ];
  const result: InstalledFile[] = [];
  for (const [path, content, mode] of files) result.push({ path, changed: await replaceIfChanged(join(paths.hostRoot, path), content, mode) });
  return result;
}
