/**
 * The claims of a CircleCI OIDC token (`$CIRCLE_OIDC_TOKEN`, or
 * `circleci run oidc get --claims '{"aud":"…"}'` for another audience), as
 * circleci.com/docs/openid-connect-tokens lists them: the issuer is per
 * organization, `https://oidc.circleci.com/org/<organization-id>`; `aud` is the
 * organization id unless the job asks for another; `sub` is
 * `org/<org-id>/project/<project-id>/user/<user-id>` (all UUIDs); the
 * `oidc.circleci.com/…` claims name the project, the contexts, the repository
 * and the ref. Lifetime one hour.
 */
import { randomUUID } from "node:crypto";

export interface CircleciTokenOptions {
  /** The organization's UUID: in the issuer URL and (by default) the audience. */
  readonly organizationId: string;
  readonly projectId?: string;
  readonly userId?: string;
  readonly audience?: string | string[];
  /** `github.com/ORG/REPO` */
  readonly vcsOrigin?: string;
  readonly vcsRef?: string;
  readonly contextIds?: readonly string[];
}

export function circleciClaims(options: CircleciTokenOptions): Record<string, unknown> {
  const projectId = options.projectId ?? "e4a0e8b2-3c1d-4c5e-9f6a-7b8c9d0e1f2a";
  const userId = options.userId ?? "1b2c3d4e-5f60-4718-8a9b-0c1d2e3f4a5b";
  return {
    jti: randomUUID(),
    sub: `org/${options.organizationId}/project/${projectId}/user/${userId}`,
    aud: options.audience ?? options.organizationId,
    "oidc.circleci.com/project-id": projectId,
    "oidc.circleci.com/vcs-origin": options.vcsOrigin ?? "github.com/acme/app",
    "oidc.circleci.com/vcs-ref": options.vcsRef ?? "refs/heads/main",
    "oidc.circleci.com/context-ids": [...(options.contextIds ?? ["a74579f1-2e7d-451e-b009-5c082ad2729e"])],
    "oidc.circleci.com/ssh-rerun": false,
  };
}

/** CircleCI's issuer path for an organization: `/org/<organization-id>`. */
export const circleciIssuerPath = (organizationId: string): string => `/org/${organizationId}`;
