/**
 * Private JSON files (docker's config, containers' auth file, the helper's
 * config and refresh-token cache): read as one object, replaced atomically
 * (temp file + rename, mode 0600) so a reader never sees half a file, and never
 * overwritten when what is there is not valid JSON.
 */
import { randomBytes } from "node:crypto";
import { closeSync, fchmodSync, fsyncSync, mkdirSync, openSync, readFileSync, realpathSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export type JsonObject = Record<string, unknown>;

export class JsonFileError extends Error {
  override readonly name = "JsonFileError";
}

export const isJsonObject = (value: unknown): value is JsonObject => typeof value === "object" && value !== null && !Array.isArray(value);

function readText(path: string, what: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new JsonFileError(`cannot read ${what} ${path}: ${(error as Error).message}`);
  }
}

/** The parsed object; `{}` when the file is missing or empty. `what` names the file in errors ("docker config"). */
export function readJsonObject(path: string, what: string): JsonObject {
  const text = readText(path, what);
  if (text === undefined || text.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new JsonFileError(`${what} ${path} is not valid JSON (${(error as Error).message}); fix or remove it, it was not modified`);
  }
  if (!isJsonObject(parsed)) throw new JsonFileError(`${what} ${path} must hold a JSON object; fix or remove it, it was not modified`);
  return parsed;
}

/** Writes beside the target and renames over it; follows a symlinked file as docker does. */
export function writeJsonObject(path: string, value: JsonObject, what: string): void {
  let target = path;
  try {
    target = realpathSync(path);
  } catch {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  }
  const temp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const fd = openSync(temp, "wx", 0o600);
    try {
      fchmodSync(fd, 0o600); // the create mode is subject to the umask; make the result exact
      writeSync(fd, JSON.stringify(value, null, "\t"));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, target);
  } catch (error) {
    rmSync(temp, { force: true });
    throw new JsonFileError(`cannot write ${what} ${target}: ${(error as Error).message}`);
  }
}
