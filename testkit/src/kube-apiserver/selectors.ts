/**
 * Label and field selectors with apimachinery's grammar, so `labelSelector=` and
 * `fieldSelector=` filter lists and watches the way a real apiserver does.
 */
import { badRequest } from "./status.ts";

type Requirement =
  | { readonly op: "exists" | "!exists"; readonly key: string }
  | { readonly op: "in" | "notin"; readonly key: string; readonly values: readonly string[] };

export type Selector = (fields: Readonly<Record<string, string>>) => boolean;

/** Splits on commas that are not inside `( … )`. */
function splitTop(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "," && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== "");
}

const KEY = /^([a-z0-9A-Z][-a-z0-9A-Z_.]*\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function checkKey(key: string, raw: string): string {
  if (!KEY.test(key) || key.length > 316) throw badRequest(`unable to parse requirement: invalid label key "${key}" in "${raw}"`);
  return key;
}

function checkValue(value: string, raw: string): string {
  if (!VALUE.test(value) || value.length > 63) throw badRequest(`unable to parse requirement: invalid label value "${value}" in "${raw}"`);
  return value;
}

function parseRequirement(raw: string, fieldMode: boolean): Requirement {
  const set = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(raw);
  if (set && !fieldMode) {
    const key = checkKey(set[1] as string, raw);
    const values = (set[3] as string).split(",").map((v) => checkValue(v.trim(), raw));
    return { op: set[2] as "in" | "notin", key, values };
  }
  const eq = /^([^!=\s]+)\s*(==|=|!=)\s*(.*)$/.exec(raw);
  if (eq) {
    const key = fieldMode ? (eq[1] as string) : checkKey(eq[1] as string, raw);
    const value = fieldMode ? (eq[3] as string).trim() : checkValue((eq[3] as string).trim(), raw);
    return { op: eq[2] === "!=" ? "notin" : "in", key, values: [value] };
  }
  if (!fieldMode && /^!\S+$/.test(raw)) return { op: "!exists", key: checkKey(raw.slice(1), raw) };
  if (!fieldMode && /^\S+$/.test(raw)) return { op: "exists", key: checkKey(raw, raw) };
  throw badRequest(`unable to parse requirement: "${raw}"`);
}

function matches(req: Requirement, fields: Readonly<Record<string, string>>): boolean {
  const value = Object.hasOwn(fields, req.key) ? fields[req.key] : undefined;
  switch (req.op) {
    case "exists":
      return value !== undefined;
    case "!exists":
      return value === undefined;
    case "in":
      return value !== undefined && req.values.includes(value);
    case "notin":
      return value === undefined || !req.values.includes(value);
  }
}

function parse(text: string | null | undefined, fieldMode: boolean): Selector {
  const requirements = splitTop(text ?? "").map((r) => parseRequirement(r, fieldMode));
  return (fields) => requirements.every((r) => matches(r, fields));
}

/** `labelSelector` grammar: `a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`, `a notin (x)`. */
export const parseLabelSelector = (text: string | null | undefined): Selector => parse(text, false);

/** `fieldSelector` grammar: `=`, `==`, `!=` only. */
export const parseFieldSelector = (text: string | null | undefined): Selector => parse(text, true);
