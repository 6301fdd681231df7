/**
 * The two policy decisions the /token handler asks for. Fail closed: a
 * condition that errors or yields a non-bool refuses, and the reason says why.
 */
import { claimsToCel, scopeToCel, type ScopeInput } from "./cel-values.ts";
import { evaluateCondition, type CompiledCondition, type ConditionBindings } from "./condition.ts";
import type { LoadedProvider } from "./compile-provider.ts";
import { WILDCARD_ACTION } from "./wildcard-action.ts";

export interface Decision {
  readonly allowed: boolean;
  readonly reason: string;
}

// A request evaluates its claims once for authn and once per requested action:
// convert them to CEL values once per claims object, not per evaluation.
const celClaims = new WeakMap<object, ReturnType<typeof claimsToCel>>();

function claimsOf(claims: Record<string, unknown>): ReturnType<typeof claimsToCel> {
  let converted = celClaims.get(claims);
  if (converted === undefined) {
    converted = claimsToCel(claims);
    celClaims.set(claims, converted);
  }
  return converted;
}

function decide(condition: CompiledCondition | undefined, bindings: () => ConditionBindings, absent: string): Decision {
  if (condition === undefined) return { allowed: true, reason: absent };
  const outcome = evaluateCondition(condition, bindings());
  if (!outcome.ok) return { allowed: false, reason: `${condition.kind} condition failed: ${outcome.error}` };
  return { allowed: outcome.value, reason: `${condition.kind} condition is ${outcome.value}` };
}

export function evaluateAuthn(p: LoadedProvider, input: { service: string; claims: Record<string, unknown> }): Decision {
  return decide(p.authn, () => ({ service: input.service, claims: claimsOf(input.claims) }), "no authn condition: every verified token authenticates");
}

/**
 * Called once per requested (type, name, action). `*` is every action, so an
 * authz condition grants it only if it names it (wildcard-action.ts); one that
 * doesn't refuses it unevaluated, however it would have answered.
 */
export function evaluateAuthz(p: LoadedProvider, input: { service: string; claims: Record<string, unknown>; scope: ScopeInput }): Decision {
  if (input.scope.action === WILDCARD_ACTION && p.authz !== undefined && !p.authz.namesWildcardAction) {
    return { allowed: false, reason: 'authz condition does not name the "*" action (every action); it is granted only by a condition comparing scope.action == "*"' };
  }
  return decide(
    p.authz,
    () => ({ service: input.service, claims: claimsOf(input.claims), scope: scopeToCel(input.scope) }),
    "no authz condition: every requested scope is granted",
  );
}
