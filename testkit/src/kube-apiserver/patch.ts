/**
 * The two patch formats the stand-in applies: JSON merge patch (RFC 7386) and
 * JSON patch (RFC 6902). Strategic merge and apply patches are answered with
 * 415 by the server rather than approximated.
 */
import { StatusError } from "./status.ts";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const isObject = (v: unknown): v is Record<string, Json> => typeof v === "object" && v !== null && !Array.isArray(v);

export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const result: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) result[key] = value === null ? undefined : applyMergePatch(result[key], value);
  // JSON has no undefined: a null in the patch removes the member.
  return Object.fromEntries(Object.entries(result).filter(([, value]) => value !== undefined));
}

export interface JsonPatchOp {
  readonly op: "add" | "remove" | "replace" | "test" | "move" | "copy";
  readonly path: string;
  readonly value?: unknown;
  readonly from?: string;
}

/** apimachinery answers a patch that can't be applied (failed `test`, missing path) with 422. */
const unprocessable = (message: string): StatusError => new StatusError(422, "Invalid", message);

function pointer(path: string): string[] {
  if (path === "") return [];
  if (!path.startsWith("/")) throw unprocessable(`invalid JSON pointer "${path}"`);
  return path
    .slice(1)
    .split("/")
    .map((t) => t.replaceAll("~1", "/").replaceAll("~0", "~"));
}

function parentOf(doc: unknown, tokens: readonly string[], path: string): { parent: Record<string, unknown> | unknown[]; key: string } {
  let node: unknown = doc;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(node)) node = node[Number(token)];
    else if (isObject(node)) node = node[token];
    else node = undefined;
    if (node === undefined) throw unprocessable(`doc is missing path: "${path}"`);
  }
  if (!Array.isArray(node) && !isObject(node)) throw unprocessable(`doc is missing path: "${path}"`);
  return { parent: node, key: tokens[tokens.length - 1] as string };
}

function read(doc: unknown, path: string): unknown {
  let node: unknown = doc;
  for (const token of pointer(path)) {
    if (Array.isArray(node)) node = node[Number(token)];
    else if (isObject(node)) node = Object.hasOwn(node, token) ? node[token] : undefined;
    else node = undefined;
    if (node === undefined) throw unprocessable(`doc is missing path: "${path}"`);
  }
  return node;
}

function arrayIndex(parent: unknown[], key: string, path: string, forInsert: boolean): number {
  if (forInsert && key === "-") return parent.length;
  const index = /^(0|[1-9][0-9]*)$/.test(key) ? Number(key) : NaN;
  if (Number.isNaN(index) || index > parent.length || (!forInsert && index === parent.length)) throw unprocessable(`invalid array index "${key}" in "${path}"`);
  return index;
}

function remove(doc: unknown, path: string): unknown {
  const { parent, key } = parentOf(doc, pointer(path), path);
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, key, path, false), 1)[0];
  if (!Object.hasOwn(parent, key)) throw unprocessable(`doc is missing path: "${path}"`);
  const old = parent[key];
  Reflect.deleteProperty(parent, key);
  return old;
}

function add(doc: unknown, path: string, value: unknown, replace: boolean): unknown {
  const tokens = pointer(path);
  if (tokens.length === 0) return structuredClone(value);
  const { parent, key } = parentOf(doc, tokens, path);
  if (Array.isArray(parent)) {
    const index = arrayIndex(parent, key, path, !replace);
    parent.splice(index, replace ? 1 : 0, structuredClone(value));
  } else {
    if (replace && !Object.hasOwn(parent, key)) throw unprocessable(`doc is missing key: "${path}"`);
    parent[key] = structuredClone(value);
  }
  return doc;
}

export function applyJsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new StatusError(400, "BadRequest", "json patch must be an array of operations");
  let doc: unknown = structuredClone(target);
  for (const raw of ops as JsonPatchOp[]) {
    if (!isObject(raw) || typeof raw.path !== "string") throw new StatusError(400, "BadRequest", "json patch operation needs op and path");
    switch (raw.op) {
      case "add":
        doc = add(doc, raw.path, raw.value, false);
        break;
      case "replace":
        doc = add(doc, raw.path, raw.value, true);
        break;
      case "remove":
        remove(doc, raw.path);
        break;
      case "test":
        if (JSON.stringify(read(doc, raw.path)) !== JSON.stringify(raw.value)) throw unprocessable(`testing value ${raw.path} failed`);
        break;
      case "move":
      case "copy": {
        if (typeof raw.from !== "string") throw new StatusError(400, "BadRequest", `${raw.op} needs from`);
        const value = raw.op === "move" ? remove(doc, raw.from) : read(doc, raw.from);
        doc = add(doc, raw.path, value, false);
        break;
      }
      default:
        throw new StatusError(400, "BadRequest", `unknown json patch op ${JSON.stringify(raw.op)}`);
    }
  }
  return doc;
}
