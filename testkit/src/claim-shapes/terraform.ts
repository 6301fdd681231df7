/**
 * The claims of an HCP Terraform (Terraform Cloud) workload identity token
 * (TFC_WORKLOAD_IDENTITY_TOKEN), as HashiCorp's "Workload identity" page
 * documents them: one issuer, `https://app.terraform.io`, for every
 * organization; ids (`org-…`, `prj-…`, `ws-…`, `run-…`) are immutable and
 * names are not; `sub` is
 * `organization:<org>:project:<project>:workspace:<workspace>:run_phase:<plan|apply>`;
 * the audience is what the workspace's TFC_WORKLOAD_IDENTITY_AUDIENCE says.
 */
export interface TerraformTokenOptions {
  readonly organization?: string;
  readonly organizationId?: string;
  readonly project?: string;
  readonly workspace?: string;
  readonly runPhase?: "plan" | "apply";
  readonly audience?: string | string[];
}

export function terraformClaims(options: TerraformTokenOptions = {}): Record<string, unknown> {
  const organization = options.organization ?? "acme";
  const project = options.project ?? "Default Project";
  const workspace = options.workspace ?? "app";
  const runPhase = options.runPhase ?? "apply";
  const full = `organization:${organization}:project:${project}:workspace:${workspace}`;
  return {
    sub: `${full}:run_phase:${runPhase}`,
    aud: options.audience ?? "registry.example.com",
    terraform_run_phase: runPhase,
    terraform_workspace_id: "ws-mbsd5E3Ktt5Rg2Xm",
    terraform_workspace_name: workspace,
    terraform_full_workspace: full,
    terraform_organization_id: options.organizationId ?? "org-GRNbCjYNpBB6NEH9",
    terraform_organization_name: organization,
    terraform_project_id: "prj-vegSA59s1XPwMr2t",
    terraform_project_name: project,
    terraform_run_id: "run-X3n1AUXNGWbfECsJ",
  };
}
