/** Bitbucket Pipelines step OIDC tokens: camelCase claims, UUIDs in braces (strings). testkit/src/claim-shapes/bitbucket.ts has the shape and its sources. */
import type { ClaimSpecs } from "../claim-schema.ts";

export const BITBUCKET_CLAIMS: ClaimSpecs = {
  accountUuid: "string",
  workspaceUuid: "string",
  repositoryUuid: "string",
  pipelineUuid: "string",
  stepUuid: "string",
  branchName: "string",
  deploymentEnvironmentUuid: "string",
};
