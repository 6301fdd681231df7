/**
 * The external programs the end-to-end tests drive, and the Debian packages
 * that provide them. Missing ones are apt-installed when we can (root + apt),
 * otherwise the error names the packages to install.
 */
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { runCommand } from "./process.ts";

/** Binary → Debian (bookworm) package. */
export const DEBIAN_PACKAGES: Readonly<Record<string, string>> = {
  "docker-registry": "docker-registry",
  skopeo: "skopeo",
  docker: "docker.io",
  htpasswd: "apache2-utils",
  openssl: "openssl",
  curl: "curl",
  git: "git",
};

/** Absolute path of `tool` on `searchPath`, or undefined. */
export function findExecutable(tool: string, searchPath = process.env["PATH"] ?? ""): string | undefined {
  for (const dir of searchPath.split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, tool);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

export class MissingToolsError extends Error {
  readonly tools: readonly string[];
  readonly packages: readonly string[];
  constructor(tools: readonly string[], reason: string) {
    const packages = packagesFor(tools);
    const unknown = tools.filter((t) => DEBIAN_PACKAGES[t] === undefined);
    super(
      `missing tools: ${tools.join(", ")} (${reason}). ` +
        (packages.length > 0 ? `Install the Debian packages: apt-get install -y ${packages.join(" ")}` : "") +
        (unknown.length > 0 ? `${packages.length > 0 ? "; " : ""}no known Debian package provides: ${unknown.join(", ")}` : ""),
    );
    this.name = "MissingToolsError";
    this.tools = tools;
    this.packages = packages;
  }
}

function packagesFor(tools: readonly string[]): string[] {
  return [...new Set(tools.flatMap((t) => (DEBIAN_PACKAGES[t] === undefined ? [] : [DEBIAN_PACKAGES[t]])))];
}

export interface EnsureToolsOptions {
  /** Default: install when running as root with apt-get on PATH; `JRA_NO_APT=1` turns installing off. */
  readonly install?: boolean;
  readonly searchPath?: string;
}

let aptUpdated = false;

async function apt(args: readonly string[]): Promise<void> {
  const result = await runCommand("apt-get", ["-o", "DPkg::Lock::Timeout=300", ...args], {
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    timeoutMs: 600_000,
  });
  if (result.code !== 0) throw new Error(`apt-get ${args.join(" ")} failed (${result.code}):\n${result.stderr.slice(-2000)}`);
}

/** Makes sure every tool is on PATH; returns their absolute paths. */
export async function ensureTools(tools: readonly string[], options: EnsureToolsOptions = {}): Promise<Record<string, string>> {
  const searchPath = options.searchPath ?? process.env["PATH"] ?? "";
  const missing = tools.filter((t) => findExecutable(t, searchPath) === undefined);
  if (missing.length > 0) {
    const canInstall = process.getuid?.() === 0 && findExecutable("apt-get", searchPath) !== undefined && process.env["JRA_NO_APT"] !== "1";
    if (!(options.install ?? canInstall)) throw new MissingToolsError(missing, canInstall ? "installing is turned off" : "not root or no apt-get, so not installing them");
    const packages = packagesFor(missing);
    if (packages.length > 0) {
      if (!aptUpdated) {
        await apt(["update"]);
        aptUpdated = true;
      }
      await apt(["install", "-y", "--no-install-recommends", ...packages]);
    }
    const still = missing.filter((t) => findExecutable(t, searchPath) === undefined);
    if (still.length > 0) throw new MissingToolsError(still, "still missing after apt-get install");
  }
  return Object.fromEntries(tools.map((t) => [t, findExecutable(t, searchPath) as string]));
}
