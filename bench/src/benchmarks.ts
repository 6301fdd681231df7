/** Every benchmark, in the order `npm run bench` runs them. */
import type { Benchmark } from "./lib/benchmark.ts";
import { bundle } from "./bundle.ts";
import { coldStart } from "./cold-start.ts";
import { policyEval } from "./policy-eval.ts";
import { policyExplain } from "./policy-explain.ts";
import { policyPropagation } from "./policy-propagation.ts";
import { proxyOverhead } from "./proxy-overhead.ts";
import { soak } from "./soak.ts";
import { tokenCpu } from "./token-cpu.ts";
import { tokenThroughput } from "./token-throughput.ts";
import { uploadShape } from "./upload-shape.ts";
import { upstreamMint } from "./upstream-mint.ts";

export const BENCHMARKS: readonly Benchmark[] = [tokenThroughput, tokenCpu, coldStart, policyEval, policyExplain, policyPropagation, proxyOverhead, upstreamMint, bundle, uploadShape, soak];
