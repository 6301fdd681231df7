/**
 * skopeo, isolated per call: its own HOME (so no user's credentials or config
 * leak in), a given auth file (or an empty one = anonymous), TLS verification
 * off for the loopback plain-HTTP registries, and a timeout.
 */
import { join } from "node:path";
import { runCommand, type CommandResult } from "./process.ts";
import { redactSecrets } from "./redact.ts";
import { makeTempDir, removeDir } from "./temp-dir.ts";
import { writeAuthFile } from "./docker-config.ts";

export interface SkopeoOptions {
  /** Credentials file (`auths` format); default: none, i.e. anonymous. */
  readonly authFile?: string;
  readonly timeoutMs?: number;
  /** `--debug`: skopeo logs every HTTP request (never the credentials). */
  readonly debug?: boolean;
}

/** Subcommands that reach registries, and the TLS flags each takes. */
const TLS_FLAGS: Readonly<Record<string, readonly string[]>> = {
  copy: ["--src-tls-verify=false", "--dest-tls-verify=false"],
  inspect: ["--tls-verify=false"],
  delete: ["--tls-verify=false"],
  "list-tags": ["--tls-verify=false"],
};

export type SkopeoSubcommand = "copy" | "inspect" | "delete" | "list-tags";

export async function runSkopeo(subcommand: SkopeoSubcommand, args: readonly string[], options: SkopeoOptions = {}): Promise<CommandResult> {
  const home = makeTempDir("skopeo-home");
  try {
    const authFile = options.authFile ?? writeAuthFile(join(home, "auth.json"), {});
    const result = await runCommand(
      "skopeo",
      [
        "--insecure-policy",
        ...(options.debug === true ? ["--debug"] : []),
        subcommand,
        ...(TLS_FLAGS[subcommand] ?? []),
        "--authfile",
        authFile,
        ...args,
      ],
      {
        env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: home, XDG_RUNTIME_DIR: home, REGISTRY_AUTH_FILE: authFile },
        timeoutMs: options.timeoutMs ?? 120_000,
      },
    );
    return { ...result, stdout: redactSecrets(result.stdout), stderr: redactSecrets(result.stderr) };
  } finally {
    removeDir(home);
  }
}

export function skopeoCopy(source: string, destination: string, options: SkopeoOptions = {}): Promise<CommandResult> {
  return runSkopeo("copy", [source, destination], options);
}

export interface InspectResult extends CommandResult {
  /** The manifest digest skopeo reports, when it succeeded. */
  readonly digest?: string;
}

export async function skopeoInspect(reference: string, options: SkopeoOptions = {}): Promise<InspectResult> {
  const result = await runSkopeo("inspect", [reference], options);
  if (result.code !== 0) return result;
  const parsed = JSON.parse(result.stdout) as { Digest?: string };
  return { ...result, ...(parsed.Digest !== undefined && { digest: parsed.Digest }) };
}
