/**
 * The most policy work one token request can ask for and still be admitted:
 * the token server's caps (worker/src/token/request.ts, docs/policy.md) are
 * MAX_SCOPES_PER_REQUEST distinct scopes of MAX_ACTIONS_PER_SCOPE distinct
 * actions each, and authz runs once per (scope, action). Also the smallest
 * request past the scope cap, which must be answered 400.
 */
import { MAX_ACTIONS_PER_SCOPE, MAX_SCOPES_PER_REQUEST } from "@jwt-registry-auth/worker/token/request";

/**
 * Distribution's four actions, then other names the scope parser accepts
 * (protocol/src/scope.ts: an action is `[a-z]+` or `*`), up to the cap.
 */
const ACTION_NAMES = ["pull", "push", "delete", "*", "list", "tag", "mount", "sign", "scan", "admin", "read", "write"] as const;

if (ACTION_NAMES.length < MAX_ACTIONS_PER_SCOPE) throw new Error(`worst-request: ${MAX_ACTIONS_PER_SCOPE} actions per scope are allowed, only ${ACTION_NAMES.length} names are listed`);

export const WORST_ACTIONS: readonly string[] = ACTION_NAMES.slice(0, MAX_ACTIONS_PER_SCOPE);
export const WORST_SCOPE_COUNT = MAX_SCOPES_PER_REQUEST;
/** Authz evaluations the worst admitted request costs. */
export const WORST_EVALUATIONS = WORST_SCOPE_COUNT * WORST_ACTIONS.length;

/** `count` distinct repository scopes under example-org/, each asking for every WORST_ACTIONS action. */
export function worstScopes(count: number = WORST_SCOPE_COUNT): string[] {
  return Array.from({ length: count }, (_, i) => `repository:example-org/repo-${String(i).padStart(2, "0")}:${WORST_ACTIONS.join(",")}`);
}

/** The GET query for `count` such scopes, one `scope` parameter each (as skopeo sends them). */
export function worstQuery(service: string, count: number = WORST_SCOPE_COUNT): string {
  return `service=${encodeURIComponent(service)}&${worstScopes(count)
    .map((s) => `scope=${encodeURIComponent(s)}`)
    .join("&")}`;
}

/**
 * The example GitHub policy widened to every WORST_ACTIONS action, `*` named
 * (so `*` is evaluated rather than refused unevaluated, wildcard-action.ts):
 * pull for any example-org repository, the rest from refs/heads/main. A
 * main-branch job is granted everything the worst request asks for, so every
 * (scope, action) runs the whole condition and the token carries all of it.
 */
export function worstAuthzCondition(): string {
  const others = WORST_ACTIONS.filter((a) => a !== "pull");
  return [
    'claims.repository_owner_id == "1234567" &&',
    'scope.type == "repository" &&',
    'scope.name.startsWith("example-org/") &&',
    '(scope.action == "pull" ||',
    `  (scope.action in ${JSON.stringify(others)} && claims.ref == "refs/heads/main"))`,
  ].join("\n");
}
