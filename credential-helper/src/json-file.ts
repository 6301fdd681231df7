/**
 * The helper's own JSON files (helper.json, the refresh-token cache): read as
 * one JSON object (`{}` when missing or empty), written atomically — a temp
 * file beside the target, mode 0600, renamed over it — so a concurrent `get`
 * never reads half a file.
 */
import { randomBytes } from "node:crypto";
import { closeSync, fchmodSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export type JsonObject = Record<string, unknown>;

export class JsonFileError extends Error {
  override readonly name = "JsonFileError";
}

export const isJsonObject = (value: unknown): value is JsonObject => typeof value === "object" && value !== null && !Array.isArray(value);

/** `what` names the file in messages ("helper config"). */
export function readJsonObject(path: string, what: string): JsonObject {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new JsonFileError(`cannot read ${what} ${path}: ${(error as Error).message}`);
  }
  if (text.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new JsonFileError(`${what} ${path} is not valid JSON (${(error as Error).message})`);
  }
  if (!isJsonObject(parsed)) throw new JsonFileError(`${what} ${path} must hold a JSON object`);
  return parsed;
}

export function writeJsonObject(path: string, value: JsonObject, what: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const fd = openSync(temp, "wx", 0o600);
    try {
      fchmodSync(fd, 0o600); // the create mode is subject to the umask
      writeSync(fd, JSON.stringify(value, null, "\t"));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw new JsonFileError(`cannot write ${what} ${path}: ${(error as Error).message}`);
  }
}
