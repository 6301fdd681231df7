/** CircleCI OIDC tokens (circleci.com/docs/openid-connect-tokens). testkit/src/claim-shapes/circleci.ts has the shape. */
import type { ClaimSpecs } from "../claim-schema.ts";

export const CIRCLECI_CLAIMS: ClaimSpecs = {
  "oidc.circleci.com/project-id": "string",
  "oidc.circleci.com/vcs-origin": "string",
  "oidc.circleci.com/vcs-ref": "string",
  "oidc.circleci.com/context-ids": "list",
  "oidc.circleci.com/ssh-rerun": "bool",
};
