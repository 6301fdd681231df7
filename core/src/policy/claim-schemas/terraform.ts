/** HCP Terraform workload identity tokens: terraform_* claims, all strings. testkit/src/claim-shapes/terraform.ts has the shape. */
import type { ClaimSpecs } from "../claim-schema.ts";

export const TERRAFORM_CLAIMS: ClaimSpecs = {
  terraform_run_phase: "string",
  terraform_workspace_id: "string",
  terraform_workspace_name: "string",
  terraform_full_workspace: "string",
  terraform_organization_id: "string",
  terraform_organization_name: "string",
  terraform_project_id: "string",
  terraform_project_name: "string",
  terraform_run_id: "string",
};
