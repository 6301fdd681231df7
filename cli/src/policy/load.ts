/**
 * Reads and validates a providers file, the first step of every `policy`
 * command: nothing is applied or tested from a file with errors.
 */
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { formatDiagnostic, parseProvidersConfig, type ConfigResult, type Diagnostic } from "@jwt-registry-auth/core/providers/config";
import { fileSizeProblem } from "@jwt-registry-auth/core/providers/size-limits";
import type { Io } from "../io.ts";

export interface PolicyFile {
  readonly file: string;
  readonly result: ConfigResult;
  /** SHA-256 (hex) of the file's bytes, recorded with each apply. */
  readonly sha256: string;
  /** The file's text (its bytes as UTF-8), recorded with each apply; "" if unreadable. */
  readonly text: string;
}

export class InvalidPolicyFileError extends Error {
  override readonly name = "InvalidPolicyFileError";
  constructor(
    readonly file: string,
    readonly errors: readonly Diagnostic[],
  ) {
    super(`${file}: ${errors.length} error${errors.length === 1 ? "" : "s"}:\n${errors.map((e) => formatDiagnostic(e, "error")).join("\n")}`);
  }
}

function fileError(file: string, message: string): PolicyFile {
  return { file, sha256: "", text: "", result: { providers: [], warnings: [], errors: [{ file, line: 1, column: 1, message }] } };
}

/**
 * Reads and parses the file; an unreadable file becomes one error at 1:1 rather than a throw.
 * A file over the size limit is refused by its size, before it is read.
 */
export function loadPolicyFile(file: string): PolicyFile {
  let bytes: Buffer;
  try {
    const tooLarge = fileSizeProblem(statSync(file).size);
    if (tooLarge !== undefined) return fileError(file, tooLarge);
    bytes = readFileSync(file);
  } catch (e) {
    const reason = e instanceof Error && "code" in e ? String(e.code) : String(e);
    return fileError(file, `cannot read the file (${reason})`);
  }
  const text = bytes.toString("utf8");
  return { file, sha256: createHash("sha256").update(bytes).digest("hex"), text, result: parseProvidersConfig(text, file) };
}

/** Loads the file and throws InvalidPolicyFileError if it has errors: the gate before any write. */
export function loadValidPolicyFile(file: string): PolicyFile {
  const loaded = loadPolicyFile(file);
  if (loaded.result.errors.length > 0) throw new InvalidPolicyFileError(file, loaded.result.errors);
  return loaded;
}

/** Errors then warnings, one `file:line:column: severity: message` line each, on stderr. */
export function printDiagnostics(io: Io, result: ConfigResult): void {
  for (const e of result.errors) io.err(formatDiagnostic(e, "error"));
  for (const w of result.warnings) io.err(formatDiagnostic(w, "warning"));
}
