/**
 * Runs in Node before the workerd tests: starts the local OIDC issuers the
 * tests verify against and hands their URLs to the tests (`inject("…")`).
 */
import type { TestProject } from "vitest/node";
import { startOidcIssuer, type OidcIssuer } from "@jwt-registry-auth/testkit/oidc-issuer";

declare module "vitest" {
  export interface ProvidedContext {
    /** GitHub-like issuer, RS256. */
    githubIssuer: string;
    /** Kubernetes-like issuer, ES256. */
    clusterIssuer: string;
  }
}

let issuers: OidcIssuer[] = [];

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const github = await startOidcIssuer({ alg: "RS256", path: "/github" });
  const cluster = await startOidcIssuer({ alg: "ES256", path: "/cluster" });
  issuers = [github, cluster];
  project.provide("githubIssuer", github.url);
  project.provide("clusterIssuer", cluster.url);
  return async () => {
    await Promise.all(issuers.map((i) => i.close()));
  };
}
