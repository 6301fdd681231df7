/**
 * The claims of a Buildkite agent OIDC token (`buildkite-agent oidc
 * request-token --audience A`), as buildkite.com/docs/agent/v3/cli-oidc and
 * .../pipelines/security/oidc describe them and a decoded token shows them
 * (rubygems/rubygems.org#5412): one issuer, `https://agent.buildkite.com`, for
 * every organization; `build_number` is a number; `build_tag` and `step_key`
 * are null when unset. `organization_id` and `pipeline_id` (UUIDs) are there
 * only when the job asks for them with `--claim organization_id,pipeline_id`,
 * and a policy must pin `organization_id`: a slug can be released and
 * registered again by someone else. Default lifetime 5 minutes.
 */
import { randomUUID } from "node:crypto";

export interface BuildkiteTokenOptions {
  readonly organizationSlug?: string;
  readonly organizationId?: string;
  readonly pipelineSlug?: string;
  readonly pipelineId?: string;
  readonly branch?: string;
  readonly tag?: string;
  readonly stepKey?: string;
  readonly audience?: string | string[];
  /** The `--claim` list: which optional claims are in the token (default both ids). */
  readonly optionalClaims?: readonly ("organization_id" | "pipeline_id")[];
}

export function buildkiteClaims(options: BuildkiteTokenOptions = {}): Record<string, unknown> {
  const organization = options.organizationSlug ?? "acme";
  const pipeline = options.pipelineSlug ?? "app";
  const branch = options.branch ?? "main";
  const commit = "9f3182061f1e2cca4702c368cbc039b7dc9d4485";
  const ref = options.tag !== undefined ? `refs/tags/${options.tag}` : `refs/heads/${branch}`;
  const optional = options.optionalClaims ?? ["organization_id", "pipeline_id"];
  return {
    jti: randomUUID(),
    sub: `organization:${organization}:pipeline:${pipeline}:ref:${ref}:commit:${commit}:step:${options.stepKey ?? ""}`,
    aud: options.audience ?? `https://buildkite.com/${organization}`,
    organization_slug: organization,
    pipeline_slug: pipeline,
    build_number: 1 + Math.floor(Math.random() * 1000),
    build_branch: branch,
    build_tag: options.tag ?? null,
    build_commit: commit,
    step_key: options.stepKey ?? null,
    job_id: randomUUID(),
    agent_id: randomUUID(),
    build_source: "ui",
    runner_environment: "self-hosted",
    ...(optional.includes("organization_id") && { organization_id: options.organizationId ?? "0184990a-4782-42b5-afc1-16715b10b8ff" }),
    ...(optional.includes("pipeline_id") && { pipeline_id: options.pipelineId ?? "0184990a-477b-4fa8-9968-496074483cee" }),
  };
}
