/**
 * The two policy decisions the /token handler asks for. Fail closed: only
 * `true` grants; false, a runtime error (a missing claim, a type mismatch) and
 * a non-bool refuse, and a refusal says why (explain.ts): which term was
 * false, or which claim was missing or of the wrong type, where in the
 * condition. A grant returns a constant decision: nothing is explained,
 * allocated or evaluated beyond the condition's one program.
 */
import { claimsToCel, scopeToCel, type ScopeInput } from "./cel-values.ts";
import { runProgram, type CompiledCondition, type ConditionBindings, type ConditionKind, type CompiledConditions } from "./condition.ts";
import { explainRefusal, formatExplanation, type Explanation } from "./explain.ts";
import { WILDCARD_ACTION } from "./wildcard-action.ts";

export type Decision =
  | { readonly allowed: true; readonly reason: string }
  | {
      readonly allowed: false;
      /** For the operator (the log line, `policy test`), never the client: `authz: false at 1:45: claims.ref == "refs/heads/main"`. */
      readonly reason: string;
      /** The same, structured; absent when nothing was evaluated (the `*` rule). */
      readonly explanation?: Explanation;
    };

const GRANTED: Readonly<Record<ConditionKind, Decision>> = {
  authn: Object.freeze({ allowed: true, reason: "authn condition is true" }),
  authz: Object.freeze({ allowed: true, reason: "authz condition is true" }),
};
const NO_AUTHN: Decision = Object.freeze({ allowed: true, reason: "no authn condition: every verified token authenticates" });
const NO_AUTHZ: Decision = Object.freeze({ allowed: true, reason: "no authz condition: every requested scope is granted" });
const WILDCARD_NOT_NAMED: Decision = Object.freeze({
  allowed: false,
  reason: 'authz condition does not name the "*" action (every action); it is granted only by a condition comparing scope.action == "*"',
});

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

function decide(condition: CompiledCondition | undefined, bindings: () => ConditionBindings, absent: Decision): Decision {
  if (condition === undefined) return absent;
  const values = bindings();
  const result = runProgram(condition, values);
  if (result === true) return GRANTED[condition.kind];
  // Refused: only now is the condition taken apart to say why.
  const explanation = explainRefusal(condition, values, result);
  return { allowed: false, reason: formatExplanation(explanation), explanation };
}

export function evaluateAuthn(p: CompiledConditions, input: { service: string; claims: Record<string, unknown> }): Decision {
  return decide(p.authn, () => ({ service: input.service, claims: claimsOf(input.claims) }), NO_AUTHN);
}

/**
 * Called once per requested (type, name, action). `*` is every action, so an
 * authz condition grants it only if it names it (wildcard-action.ts); one that
 * doesn't refuses it unevaluated, however it would have answered.
 */
export function evaluateAuthz(p: CompiledConditions, input: { service: string; claims: Record<string, unknown>; scope: ScopeInput }): Decision {
  if (input.scope.action === WILDCARD_ACTION && p.authz !== undefined && !p.authz.namesWildcardAction) return WILDCARD_NOT_NAMED;
  return decide(p.authz, () => ({ service: input.service, claims: claimsOf(input.claims), scope: scopeToCel(input.scope) }), NO_AUTHZ);
}
