/**
 * Turns request data into CEL inputs. JWT claims are JSON: objects become CEL
 * maps (never plain JS objects, so no prototype member can be reached as a
 * "claim"), arrays lists, numbers doubles — as cel-go sees JSON-decoded claims
 * in the PoC, so `claims.n == 3` still holds through CEL's numeric equality.
 */
import { celType, type CelInput, type CelValue } from "@bufbuild/cel";

/** A JSON value in CEL form; anything JSON can't hold (functions, undefined) is dropped. */
export function jsonToCel(value: unknown): CelInput | undefined {
  if (value === null) return null;
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) ? value : undefined;
    case "object": {
      if (Array.isArray(value)) {
        const items: CelInput[] = [];
        for (const item of value) {
          const converted = jsonToCel(item);
          if (converted !== undefined) items.push(converted);
        }
        return items;
      }
      const map = new Map<string, CelInput>();
      for (const [key, item] of Object.entries(value)) {
        const converted = jsonToCel(item);
        if (converted !== undefined) map.set(key, converted);
      }
      return map;
    }
    default:
      return undefined;
  }
}

/** The claims map; a claims object that isn't a JSON object gives an empty map. */
export function claimsToCel(claims: Record<string, unknown>): CelInput {
  const converted = jsonToCel(claims);
  return converted instanceof Map ? converted : new Map<string, CelInput>();
}

export interface ScopeInput {
  readonly type: string;
  readonly name: string;
  readonly action: string;
  readonly class?: string | undefined;
}

/** `scope` as the PoC bound it: a string→string map with `class` "" when absent. */
export function scopeToCel(scope: ScopeInput): ReadonlyMap<string, string> {
  return new Map([
    ["type", scope.type],
    ["name", scope.name],
    ["action", scope.action],
    ["class", scope.class ?? ""],
  ]);
}

/** The CEL type name of a result, for "must be a bool" messages. */
export function celTypeName(value: CelValue): string {
  return celType(value).name;
}
