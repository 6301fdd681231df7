/**
 * The claims of a Bitbucket Pipelines OIDC token ($BITBUCKET_STEP_OIDC_TOKEN
 * of a step with `oidc: true`), as Atlassian's "Integrate Pipelines with
 * resource servers using OIDC" page and pipeline-runner's emulation of it
 * (OIDCPayload in mathieu-lemay/pipeline-runner) show them: the issuer is per
 * workspace but names it by slug
 * (`https://api.bitbucket.org/2.0/workspaces/<workspace>/pipelines-config/identity/oidc`),
 * which can be changed and then taken; the immutable ids are camelCase claims
 * holding UUIDs in braces (`"{…}"`); the default audience is
 * `ari:cloud:bitbucket::workspace/<workspace UUID>`; `deploymentEnvironmentUuid`
 * only in deployment steps. Lifetime 1 hour.
 */
import { randomUUID } from "node:crypto";

export interface BitbucketTokenOptions {
  readonly workspace?: string;
  /** Without braces; the claims carry it as "{uuid}". */
  readonly workspaceUuid?: string;
  readonly repositoryUuid?: string;
  readonly branch?: string;
  readonly deploymentEnvironmentUuid?: string;
  readonly audience?: string | string[];
}

export const bitbucketIssuer = (workspace: string): string => `https://api.bitbucket.org/2.0/workspaces/${workspace}/pipelines-config/identity/oidc`;

const braced = (uuid: string): string => `{${uuid}}`;

export function bitbucketClaims(options: BitbucketTokenOptions = {}): Record<string, unknown> {
  const workspaceUuid = options.workspaceUuid ?? "5b1d7a6e-2c3f-4e8a-9b0c-1d2e3f4a5b6c";
  const repositoryUuid = braced(options.repositoryUuid ?? "437da666-7aab-4b60-a947-ec542536ca0d");
  const stepUuid = braced(randomUUID());
  const environment = options.deploymentEnvironmentUuid === undefined ? undefined : braced(options.deploymentEnvironmentUuid);
  return {
    sub: environment === undefined ? `${repositoryUuid}:${stepUuid}` : `${repositoryUuid}:${environment}:${stepUuid}`,
    aud: options.audience ?? `ari:cloud:bitbucket::workspace/${workspaceUuid}`,
    accountUuid: braced("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"),
    workspaceUuid: braced(workspaceUuid),
    repositoryUuid,
    pipelineUuid: braced(randomUUID()),
    stepUuid,
    branchName: options.branch ?? "main",
    ...(environment !== undefined && { deploymentEnvironmentUuid: environment }),
  };
}
