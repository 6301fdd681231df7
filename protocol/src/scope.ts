/**
 * The Distribution token-auth scope grammar:
 *
 *   scope          := resourcescope [ ' ' resourcescope ]*
 *   resourcescope  := resourcetype ':' resourcename ':' action [ ',' action ]*
 *   resourcetype   := typevalue [ '(' typevalue ')' ]      e.g. repository(plugin)
 *
 * A resource name may itself contain ':' (`localhost:5000/team/app`), so the type
 * is split off the front and the actions off the back.
 */
import { isValidRepositoryName, MAX_NAME_LENGTH } from "./names.ts";

export interface ResourceScope {
  readonly type: string;
  readonly class?: string;
  readonly name: string;
  readonly actions: readonly string[];
}

export type ScopeErrorCode = "SCOPE_MALFORMED" | "SCOPE_TOO_MANY" | "SCOPE_TOO_LONG";

export class ScopeError extends Error {
  override readonly name = "ScopeError";
  constructor(
    readonly code: ScopeErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** More scopes than any real client sends for one operation; bounds policy work per request. */
export const MAX_SCOPES = 64;
const MAX_SCOPE_LENGTH = MAX_NAME_LENGTH + 128;

const TYPE_VALUE = /^[a-z0-9]+$/;
const TYPE_WITH_CLASS = /^([a-z0-9]+)(?:\(([a-z0-9]+)\))?$/;
const ACTION = /^(?:[a-z]+|\*)$/;

/** Shows a client-supplied value in an error without echoing arbitrary amounts of it. */
function quote(value: string): string {
  const shown = value.length > 80 ? `${value.slice(0, 80)}…` : value;
  return JSON.stringify(shown);
}

/** Parses one `type[(class)]:name:actions` resource scope. */
export function parseScope(raw: string): ResourceScope {
  if (raw.length > MAX_SCOPE_LENGTH) {
    throw new ScopeError("SCOPE_TOO_LONG", `scope is longer than ${MAX_SCOPE_LENGTH} characters`);
  }
  const first = raw.indexOf(":");
  const last = raw.lastIndexOf(":");
  if (first <= 0 || last === first) {
    throw new ScopeError("SCOPE_MALFORMED", `scope ${quote(raw)} is not of the form type:name:actions`);
  }
  const typePart = raw.slice(0, first);
  const name = raw.slice(first + 1, last);
  const actionPart = raw.slice(last + 1);

  const typeMatch = TYPE_WITH_CLASS.exec(typePart);
  if (!typeMatch) {
    throw new ScopeError("SCOPE_MALFORMED", `scope ${quote(raw)} has an invalid resource type ${quote(typePart)}`);
  }
  const type = typeMatch[1] as string;
  const cls = typeMatch[2];

  if (!isValidResourceName(type, name)) {
    throw new ScopeError("SCOPE_MALFORMED", `scope ${quote(raw)} has an invalid ${type} name ${quote(name)}`);
  }

  const actions: string[] = [];
  for (const action of actionPart.split(",")) {
    if (!ACTION.test(action)) {
      throw new ScopeError("SCOPE_MALFORMED", `scope ${quote(raw)} has an invalid action ${quote(action)}`);
    }
    if (!actions.includes(action)) actions.push(action);
  }
  return cls === undefined ? { type, name, actions } : { type, class: cls, name, actions };
}

/**
 * Repository names follow the OCI grammar, optionally behind `host[:port]/`
 * (clients put the registry host in front for some flows). Other resource types
 * (`registry:catalog`) carry a plain lowercase word.
 */
function isValidResourceName(type: string, name: string): boolean {
  if (type === "repository") return isValidRepositoryName(name, { allowDomain: true });
  return name.length > 0 && name.length <= MAX_NAME_LENGTH && /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/.test(name);
}

/**
 * Parses every `scope` value of a request: each may hold several space-separated
 * scopes (docker's refresh POST joins them), and the same resource may be named
 * more than once (skopeo repeats it); those are merged into one scope with the
 * union of their actions, in first-seen order.
 */
export function parseScopes(values: readonly string[]): ResourceScope[] {
  const merged = new Map<string, { type: string; class?: string; name: string; actions: string[] }>();
  for (const value of values) {
    for (const part of value.split(" ")) {
      if (part === "") continue;
      const scope = parseScope(part);
      const key = `${scope.type}\u0000${scope.class ?? ""}\u0000${scope.name}`;
      const existing = merged.get(key);
      if (existing) {
        for (const action of scope.actions) if (!existing.actions.includes(action)) existing.actions.push(action);
        continue;
      }
      if (merged.size >= MAX_SCOPES) {
        throw new ScopeError("SCOPE_TOO_MANY", `more than ${MAX_SCOPES} scopes in one request`);
      }
      merged.set(key, { ...scope, actions: [...scope.actions] });
    }
  }
  return [...merged.values()];
}

/** The inverse of {@link parseScope}. */
export function formatScope(scope: ResourceScope): string {
  const type = scope.class === undefined ? scope.type : `${scope.type}(${scope.class})`;
  return `${type}:${scope.name}:${scope.actions.join(",")}`;
}

export function isValidTypeValue(value: string): boolean {
  return TYPE_VALUE.test(value);
}
