/**
 * policy-eval: the example policies (examples/providers.yaml) compiled and
 * evaluated with the token server's own policy modules: compile time per
 * condition, and evaluations per second against the sample claims of the
 * matching shape (GitHub for gha, Kubernetes for cluster-a). The ratio between
 * the two is why conditions are compiled once per policy version, never per request.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "@jwt-registry-auth/testkit/repo-root";
import { claimsToCel, scopeToCel } from "@jwt-registry-auth/core/policy/cel-values";
import { compileCondition, evaluateCondition, type ConditionKind } from "@jwt-registry-auth/core/policy/condition";
import { CLAIMS_SAMPLES, SCOPE_SAMPLES } from "@jwt-registry-auth/core/policy/samples";
import { parseProvidersConfig } from "@jwt-registry-auth/core/providers/config";
import type { Benchmark, BenchmarkOutput } from "./lib/benchmark.ts";
import { timeOp } from "./lib/in-process.ts";
import { fixed, type Table } from "./lib/table.ts";
import { EXAMPLE_POLICIES } from "./lib/token-stack.ts";

/** Which sample claims each example provider's conditions are written for. */
const SAMPLE_FOR: Readonly<Record<string, string>> = { gha: "GitHub Actions claims", "cluster-a": "Kubernetes service-account claims" };

interface ConditionFigures {
  readonly provider: string;
  readonly kind: ConditionKind;
  readonly compileUs: number;
  readonly evalUs: number;
  readonly evalsPerSecond: number;
  /** Evaluating with the claims already converted to CEL values, as a per-request cache would. */
  readonly evalPreconvertedUs: number;
  readonly result: boolean | string;
}

async function run(): Promise<BenchmarkOutput> {
  const parsed = parseProvidersConfig(readFileSync(join(REPO_ROOT, EXAMPLE_POLICIES), "utf8"), EXAMPLE_POLICIES);
  if (parsed.errors.length > 0) throw new Error(`${EXAMPLE_POLICIES}: ${parsed.errors.map((e) => e.message).join("; ")}`);
  const figures: ConditionFigures[] = [];
  for (const provider of parsed.providers) {
    const sample = CLAIMS_SAMPLES.find((s) => s.label === SAMPLE_FOR[provider.name]) ?? CLAIMS_SAMPLES[0];
    if (sample === undefined) throw new Error("no sample claims");
    const scope = SCOPE_SAMPLES.find((s) => s.type === "repository" && s.name.startsWith(provider.name === "gha" ? "example-org/" : "team-a/")) ?? (SCOPE_SAMPLES[0] as (typeof SCOPE_SAMPLES)[number]);
    for (const kind of ["authn", "authz"] as const) {
      const source = provider[kind];
      if (source === undefined) continue;
      const compile = () => {
        const result = compileCondition(kind, source);
        if (!result.ok) throw new Error(`${provider.name} ${kind}: ${result.error.message}`);
        return result.value.condition;
      };
      const condition = compile();
      const bindings = () => ({ service: sample.service, claims: claimsToCel(sample.claims), ...(kind === "authz" && { scope: scopeToCel(scope) }) });
      const preconverted = bindings();
      const outcome = evaluateCondition(condition, preconverted);
      const evalUs = (await timeOp(() => evaluateCondition(condition, bindings()), { minMs: 1000 })).usPerOp;
      figures.push({
        provider: provider.name,
        kind,
        compileUs: (await timeOp(compile, { minMs: 1000, minRuns: 20 })).usPerOp,
        evalUs,
        evalsPerSecond: 1e6 / evalUs,
        evalPreconvertedUs: (await timeOp(() => evaluateCondition(condition, preconverted), { minMs: 1000 })).usPerOp,
        result: outcome.ok ? outcome.value : outcome.error,
      });
    }
  }
  const tables: Table[] = [
    {
      title: `policy-eval: ${EXAMPLE_POLICIES}, per condition (Node, the token server's policy modules)`,
      columns: ["provider", "condition", "compile µs", "eval µs", "evals/s", "eval µs, claims pre-converted", "compile ÷ eval", "result on sample"],
      rows: figures.map((f) => [
        f.provider,
        f.kind,
        fixed(f.compileUs, 0),
        fixed(f.evalUs, 1),
        fixed(f.evalsPerSecond),
        fixed(f.evalPreconvertedUs, 1),
        `${fixed(f.compileUs / f.evalUs)}×`,
        String(f.result),
      ]),
    },
  ];
  return {
    tables,
    data: { figures },
    notes: [
      "Compile = parse + static checks + plan + the load-time evaluation against every sample binding (what a policy load costs); the token server does it once per policy version per isolate (worker/src/policy/store.ts) and keeps the compiled program.",
      "Eval converts the claims to CEL values on every call (what the first evaluation of a request costs); the pre-converted column is the CEL program alone, which is what every further evaluation of the same request costs (core/src/policy/evaluate.ts converts a request's claims once).",
    ],
  };
}

export const policyEval: Benchmark = {
  name: "policy-eval",
  description: "CEL compile time and evaluations/s for the example policies",
  run,
};
