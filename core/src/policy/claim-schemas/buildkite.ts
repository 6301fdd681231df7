/** Buildkite agent OIDC tokens (buildkite.com/docs/agent/v3/cli-oidc): build_number a number; build_tag and step_key null when unset. testkit/src/claim-shapes/buildkite.ts has the shape. */
import type { ClaimSpecs } from "../claim-schema.ts";

export const BUILDKITE_CLAIMS: ClaimSpecs = {
  organization_slug: "string",
  organization_id: "string",
  pipeline_slug: "string",
  pipeline_id: "string",
  build_number: "number",
  build_branch: "string",
  build_tag: ["string", "null"],
  build_commit: "string",
  build_source: "string",
  step_key: ["string", "null"],
  job_id: "string",
  agent_id: "string",
  cluster_id: "string",
  cluster_name: "string",
  queue_id: "string",
  queue_key: "string",
  runner_environment: "string",
};
