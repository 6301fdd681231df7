/**
 * Runs in Node before the workerd tests: starts one recording fake upstream per
 * upstream-auth mode and hands their URLs to the tests (`inject("upstreams")`).
 */
import type { TestProject } from "vitest/node";
import { startFakeUpstream, type FakeUpstream, type UpstreamMode } from "./fake-upstream.ts";

declare module "vitest" {
  export interface ProvidedContext {
    upstreams: Record<UpstreamMode, string>;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started: Record<UpstreamMode, FakeUpstream> = {
    none: await startFakeUpstream("none"),
    basic: await startFakeUpstream("basic"),
    bearer: await startFakeUpstream("bearer"),
  };
  project.provide("upstreams", { none: started.none.url, basic: started.basic.url, bearer: started.bearer.url });
  return async () => {
    await Promise.all(Object.values(started).map((u) => u.close()));
  };
}
