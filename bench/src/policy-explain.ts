/**
 * policy-explain: what explaining a refusal costs, and that a grant pays
 * nothing for it. For each condition of the example policies
 * (examples/providers.yaml), in one run, with the claims already converted
 * (as every evaluation after a request's first sees them):
 *  - granted, before: the evaluation as evaluate.ts did it before refusals
 *    were explained (the bindings, evaluateCondition, then a reason string
 *    per decision);
 *  - granted, now: evaluateAuthn/evaluateAuthz on claims that are granted;
 *  - refused, bare: the condition's program alone on refused claims;
 *  - refused + explain: evaluateAuthn/evaluateAuthz on those claims, which
 *    evaluates the failing terms again and formats the explanation;
 *  - first refusal: the same once, on a freshly compiled condition (it builds
 *    the term tree and plans the terms it needs, then caches them).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "@jwt-registry-auth/testkit/repo-root";
import { claimsToCel, scopeToCel, type ScopeInput } from "@jwt-registry-auth/core/policy/cel-values";
import { compileProvider, type LoadedProvider } from "@jwt-registry-auth/core/providers/compile-provider";
import { evaluateCondition, runProgram, type ConditionBindings, type ConditionKind } from "@jwt-registry-auth/core/policy/condition";
import { evaluateAuthn, evaluateAuthz, type Decision } from "@jwt-registry-auth/core/policy/evaluate";
import { CLAIMS_SAMPLES } from "@jwt-registry-auth/core/policy/samples";
import { parseProvidersConfig } from "@jwt-registry-auth/core/providers/config";
import type { ProviderConfig } from "@jwt-registry-auth/core/providers/model";
import type { Benchmark, BenchmarkOutput } from "./lib/benchmark.ts";
import { timeOp } from "./lib/in-process.ts";
import { fixed, type Table } from "./lib/table.ts";
import { EXAMPLE_POLICIES } from "./lib/token-stack.ts";

interface Case {
  readonly provider: string;
  readonly kind: ConditionKind;
  readonly sample: string;
  readonly granted: { readonly claims: Record<string, unknown>; readonly scope?: ScopeInput };
  readonly refused: { readonly claims: Record<string, unknown>; readonly scope?: ScopeInput };
}

function sampleClaims(label: string): Record<string, unknown> {
  const sample = CLAIMS_SAMPLES.find((s) => s.label === label);
  if (sample === undefined) throw new Error(`no sample ${label}`);
  return sample.claims;
}

const github = sampleClaims("GitHub Actions claims");
const k8s = sampleClaims("Kubernetes service-account claims");
const repo = (name: string, action: string): ScopeInput => ({ type: "repository", name, action });

const CASES: readonly Case[] = [
  { provider: "gha", kind: "authn", sample: "owner id 999", granted: { claims: github }, refused: { claims: { ...github, repository_owner_id: "999" } } },
  {
    provider: "gha",
    kind: "authz",
    sample: "push from a feature branch",
    granted: { claims: github, scope: repo("example-org/app", "push") },
    refused: { claims: { ...github, ref: "refs/heads/feature" }, scope: repo("example-org/app", "push") },
  },
  { provider: "cluster-a", kind: "authn", sample: "a non-service-account sub", granted: { claims: k8s }, refused: { claims: { ...k8s, sub: "user:alice" } } },
  {
    provider: "cluster-a",
    kind: "authz",
    sample: "another namespace",
    granted: { claims: k8s, scope: repo("team-a/app", "pull") },
    refused: { claims: { ...k8s, "kubernetes.io": { namespace: "team-b" } }, scope: repo("team-a/app", "pull") },
  },
];

interface Figures {
  readonly provider: string;
  readonly kind: ConditionKind;
  readonly refusal: string;
  readonly grantedBeforeUs: number;
  readonly grantedNowUs: number;
  readonly refusedBareUs: number;
  readonly refusedExplainedUs: number;
  readonly explainUs: number;
  readonly firstRefusalUs: number;
  readonly explanation: string;
}

function load(config: ProviderConfig): LoadedProvider {
  const compiled = compileProvider(config);
  if (!compiled.ok) throw new Error(`${config.name}: ${compiled.errors.map((e) => e.message).join("; ")}`);
  return compiled.value.provider;
}

function decideWith(provider: LoadedProvider, kind: ConditionKind, input: Case["granted"]): () => Decision {
  const service = "registry.example.com";
  if (kind === "authn") return () => evaluateAuthn(provider, { service, claims: input.claims });
  const scope = input.scope ?? repo("x/y", "pull");
  return () => evaluateAuthz(provider, { service, claims: input.claims, scope });
}

async function run(): Promise<BenchmarkOutput> {
  const parsed = parseProvidersConfig(readFileSync(join(REPO_ROOT, EXAMPLE_POLICIES), "utf8"), EXAMPLE_POLICIES);
  if (parsed.errors.length > 0) throw new Error(`${EXAMPLE_POLICIES}: ${parsed.errors.map((e) => e.message).join("; ")}`);
  const figures: Figures[] = [];
  for (const c of CASES) {
    const config = parsed.providers.find((p) => p.name === c.provider);
    if (config === undefined) throw new Error(`${EXAMPLE_POLICIES} has no provider ${c.provider}`);
    const provider = load(config);
    const condition = provider[c.kind];
    if (condition === undefined) throw new Error(`${c.provider} has no ${c.kind} condition`);
    const bindingsOf = (input: Case["granted"]): ConditionBindings => ({
      service: "registry.example.com",
      claims: claimsToCel(input.claims),
      ...(c.kind === "authz" && { scope: scopeToCel(input.scope ?? repo("x/y", "pull")) }),
    });
    const refusedBindings = bindingsOf(c.refused);
    // evaluate.ts before issue 10, step for step: the bindings (claims converted once per request, scope per
    // evaluation), evaluateCondition, then a reason built per decision.
    const grantedClaims = claimsToCel(c.granted.claims);
    const grantedScope = c.granted.scope ?? repo("x/y", "pull");
    const before = (): { allowed: boolean; reason: string } => {
      const bindings = { service: "registry.example.com", claims: grantedClaims, ...(c.kind === "authz" && { scope: scopeToCel(grantedScope) }) };
      const outcome = evaluateCondition(condition, bindings);
      return outcome.ok ? { allowed: outcome.value, reason: `${condition.kind} condition is ${outcome.value}` } : { allowed: false, reason: `${condition.kind} condition failed: ${outcome.error}` };
    };
    const granted = decideWith(provider, c.kind, c.granted);
    const refused = decideWith(provider, c.kind, c.refused);
    if (!before().allowed || !granted().allowed) throw new Error(`${c.provider} ${c.kind}: the granted case is refused`);
    const decision = refused();
    if (decision.allowed) throw new Error(`${c.provider} ${c.kind}: the refused case is granted`);

    // A fresh compile, so its first refusal builds and plans its terms.
    const fresh = load(config);
    const t0 = performance.now();
    decideWith(fresh, c.kind, c.refused)();
    const firstRefusalUs = (performance.now() - t0) * 1000;

    // Interleaved, so load changes hit every column alike.
    const grantedBeforeUs = (await timeOp(before, { minMs: 700 })).usPerOp;
    const grantedNowUs = (await timeOp(granted, { minMs: 700 })).usPerOp;
    const refusedBareUs = (await timeOp(() => runProgram(condition, refusedBindings), { minMs: 700 })).usPerOp;
    const refusedExplainedUs = (await timeOp(refused, { minMs: 700 })).usPerOp;
    figures.push({
      provider: c.provider,
      kind: c.kind,
      refusal: c.sample,
      grantedBeforeUs,
      grantedNowUs,
      refusedBareUs,
      refusedExplainedUs,
      explainUs: refusedExplainedUs - refusedBareUs,
      firstRefusalUs,
      explanation: decision.reason,
    });
  }
  const tables: Table[] = [
    {
      title: `policy-explain: ${EXAMPLE_POLICIES}, µs per decision, claims pre-converted (Node, the token server's policy modules)`,
      columns: ["provider", "condition", "refused case", "granted, before µs", "granted, now µs", "refused, bare µs", "refused + explain µs", "explain µs", "first refusal µs", "explanation"],
      rows: figures.map((f) => [
        f.provider,
        f.kind,
        f.refusal,
        fixed(f.grantedBeforeUs, 2),
        fixed(f.grantedNowUs, 2),
        fixed(f.refusedBareUs, 2),
        fixed(f.refusedExplainedUs, 2),
        fixed(f.explainUs, 2),
        fixed(f.firstRefusalUs, 0),
        f.explanation,
      ]),
    },
  ];
  return {
    tables,
    data: { figures },
    notes: [
      "granted, before = evaluateCondition plus the reason string evaluate.ts built per decision before refusals were explained; granted, now = evaluateAuthn/evaluateAuthz, which runs the one program and returns a constant decision: nothing is explained, allocated or evaluated beyond it.",
      "explain µs = refused + explain − refused, bare: the cost of saying why, paid only by a refusal. first refusal µs is one measurement (not an average) of a freshly compiled provider's first refusal, which also builds the term tree and plans the terms it evaluates; they are cached beside the compiled condition for every later refusal.",
    ],
  };
}

export const policyExplain: Benchmark = {
  name: "policy-explain",
  description: "the cost of explaining a refusal, beside the granted path's cost before and after",
  run,
};
