/**
 * Size limits on a providers file, checked before anything else reads it: a
 * YAML parse is linear but slow (a 30 MB description took seconds before its
 * "must be a string" error), so the whole file is bounded before parsing and
 * every string before any value is checked or compiled — each with a message
 * that names the limit.
 */
import { isMap, isScalar, isSeq, type Node } from "yaml";
import { MAX_CONDITION_LENGTH } from "../policy/static-check.ts";
import { MAX_FIELD_LENGTH } from "./validate.ts";

/** The whole file, in bytes (UTF-8). Real files are a few KiB. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** A mapping key: every key the file knows is a short word. */
export const MAX_KEY_LENGTH = 128;
/** Any other string (a PEM key or certificate, a JWK member): an RSA-8192 certificate is under 4 KiB. */
export const MAX_SCALAR_LENGTH = 16 * 1024;

/** Characters allowed per key (a Map: a key named "constructor" must not find Object's); strings under other keys get MAX_SCALAR_LENGTH. */
const FIELD_LIMITS: ReadonlyMap<string, number> = new Map([
  ["name", MAX_FIELD_LENGTH],
  ["description", MAX_FIELD_LENGTH],
  ["issuer", MAX_FIELD_LENGTH],
  ["oidcDiscoveryURL", MAX_FIELD_LENGTH],
  ["audiences", MAX_FIELD_LENGTH],
  ["lifetime", MAX_FIELD_LENGTH],
  ["condition", MAX_CONDITION_LENGTH],
]);

/** "is 31457280 bytes; the limit is 1048576 bytes (1 MiB)" for a file over the limit. */
export function fileSizeProblem(bytes: number): string | undefined {
  if (bytes <= MAX_CONFIG_BYTES) return undefined;
  return `the file is ${bytes} bytes; the limit is ${MAX_CONFIG_BYTES} bytes (1 MiB), so it was not parsed`;
}

/** fileSizeProblem for a file already read as text (its UTF-8 size; encoding even 30 MB takes milliseconds). */
export function textSizeProblem(text: string): string | undefined {
  return fileSizeProblem(new TextEncoder().encode(text).length);
}

export interface OversizedValue {
  readonly node: Node;
  readonly message: string;
}

/** Every mapping key and string value over its limit, anywhere in the document. */
export function oversizedValues(root: unknown): OversizedValue[] {
  const found: OversizedValue[] = [];
  const visit = (node: unknown, key: string | undefined): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const keyText = isScalar(pair.key) && typeof pair.key.value === "string" ? pair.key.value : undefined;
        if (keyText !== undefined && keyText.length > MAX_KEY_LENGTH) {
          found.push({ node: pair.key as Node, message: `a mapping key is ${keyText.length} characters; the limit is ${MAX_KEY_LENGTH}` });
          continue;
        }
        visit(pair.value, keyText);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) visit(item, key);
    } else if (isScalar(node) && typeof node.value === "string") {
      const limit = (key === undefined ? undefined : FIELD_LIMITS.get(key)) ?? MAX_SCALAR_LENGTH;
      if (node.value.length > limit) found.push({ node, message: `${key ?? "a value"} is ${node.value.length} characters; the limit is ${limit}` });
    }
  };
  visit(root, undefined);
  return found;
}
