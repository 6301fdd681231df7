/**
 * The claims of a GitLab CI/CD ID token (`id_tokens:` in .gitlab-ci.yml), as
 * docs.gitlab.com/ci/secrets/id_token_authentication ("Token payload") lists
 * them and sample payloads show them: every id and flag is a string
 * (`"namespace_id": "12885807"`, `"ref_protected": "true"`), except
 * `runner_id`, a number. `iss` is the instance (`https://gitlab.com`); `aud` is
 * what the job's `id_tokens.NAME.aud` says; the lifetime is the job's timeout.
 */
import { randomUUID } from "node:crypto";

export interface GitlabTokenOptions {
  /** The top-level group (namespace) path. */
  readonly namespacePath?: string;
  /** The immutable id of that namespace: what a policy pins. */
  readonly namespaceId?: string;
  /** `GROUP/PROJECT` (subgroups allowed). */
  readonly projectPath?: string;
  readonly projectId?: string;
  /** A branch or tag name, no `refs/heads/` prefix. */
  readonly ref?: string;
  readonly refType?: "branch" | "tag";
  readonly refProtected?: boolean;
  readonly audience?: string | string[];
  readonly environment?: string;
  readonly pipelineSource?: string;
}

export function gitlabClaims(options: GitlabTokenOptions = {}): Record<string, unknown> {
  const namespacePath = options.namespacePath ?? "acme";
  const projectPath = options.projectPath ?? `${namespacePath}/app`;
  const ref = options.ref ?? "main";
  const refType = options.refType ?? "branch";
  const sha = "714a629c0b401fdce83e847fc9589983fc6f46bc";
  return {
    jti: randomUUID(),
    // GitLab's default subject; a project can reconfigure it, so policies read the claims below.
    sub: `project_path:${projectPath}:ref_type:${refType}:ref:${ref}`,
    aud: options.audience ?? "https://gitlab.com",
    namespace_id: options.namespaceId ?? "12885807",
    namespace_path: namespacePath,
    project_id: options.projectId ?? "53804090",
    project_path: projectPath,
    user_id: "1017",
    user_login: "octo-dev",
    user_email: "octo-dev@example.com",
    user_access_level: "developer",
    user_identities: [],
    pipeline_id: String(1_000_000 + Math.floor(Math.random() * 1e6)),
    pipeline_source: options.pipelineSource ?? "push",
    job_id: String(5_000_000 + Math.floor(Math.random() * 1e6)),
    ref,
    ref_type: refType,
    ref_path: refType === "branch" ? `refs/heads/${ref}` : `refs/tags/${ref}`,
    ref_protected: String(options.refProtected ?? true),
    ...(options.environment !== undefined && { environment: options.environment, environment_protected: "false", deployment_tier: "production", environment_action: "start" }),
    runner_id: 12270857,
    runner_environment: "gitlab-hosted",
    sha,
    project_visibility: "private",
    ci_config_ref_uri: `gitlab.com/${projectPath}//.gitlab-ci.yml@refs/heads/${ref}`,
    ci_config_sha: sha,
  };
}
