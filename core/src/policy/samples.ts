/**
 * Representative bindings a condition is evaluated against when it is loaded,
 * standing in for the type checker @bufbuild/cel doesn't have: a condition
 * that yields something other than a bool on these is rejected before it can
 * refuse (or worse, be misread for) real requests. The claim shapes are the
 * real ones: GitHub Actions' OIDC token, a Kubernetes service-account token, and
 * the other CIs `policy init` writes starters for — GitLab CI/CD, Buildkite and
 * CircleCI (testkit/src/claim-shapes/ has them with their sources).
 */
import type { ScopeInput } from "./cel-values.ts";

export interface ClaimsSample {
  readonly label: string;
  readonly service: string;
  readonly claims: Record<string, unknown>;
}

const NOW = 1_767_225_600;

export const CLAIMS_SAMPLES: readonly ClaimsSample[] = [
  {
    label: "GitHub Actions claims",
    service: "registry.example.com",
    claims: {
      iss: "https://token.actions.githubusercontent.com",
      aud: "registry.example.com",
      sub: "repo:example-org/app:ref:refs/heads/main",
      exp: NOW + 300,
      iat: NOW,
      nbf: NOW - 5,
      jti: "5a1f4c1e-8a59-4c5e-9a36-7e0c1b9b6f10",
      ref: "refs/heads/main",
      sha: "3f786850e387550fdab836ed7e6dc881de23001b",
      repository: "example-org/app",
      repository_owner: "example-org",
      repository_owner_id: "1234567",
      repository_visibility: "private",
      repository_id: "7654321",
      run_id: "8123456789",
      run_number: "42",
      run_attempt: "1",
      actor: "octocat",
      actor_id: "583231",
      workflow: "build",
      workflow_ref: "example-org/app/.github/workflows/build.yml@refs/heads/main",
      job_workflow_ref: "example-org/app/.github/workflows/build.yml@refs/heads/main",
      head_ref: "",
      base_ref: "",
      event_name: "push",
      ref_type: "branch",
      ref_protected: "true",
      runner_environment: "github-hosted",
    },
  },
  {
    label: "Kubernetes service-account claims",
    service: "registry.example.com",
    claims: {
      iss: "https://kubernetes.default.svc.cluster.local",
      aud: ["registry.example.com"],
      sub: "system:serviceaccount:team-a:builder",
      exp: NOW + 3600,
      iat: NOW,
      nbf: NOW,
      jti: "0d5b8f5e-2f7e-4c1b-8d0e-3c7b5e9a1f22",
      "kubernetes.io": {
        namespace: "team-a",
        serviceaccount: { name: "builder", uid: "6b9e8c1a-6d1f-4f0e-9c3b-1a2b3c4d5e6f" },
        pod: { name: "builder-7d9f8-abcde", uid: "9f8e7d6c-5b4a-4c3d-8e2f-1a0b9c8d7e6f" },
        node: { name: "node-1", uid: "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f" },
      },
    },
  },
  {
    label: "GitLab CI/CD claims",
    service: "registry.example.com",
    claims: {
      iss: "https://gitlab.com",
      aud: "registry.example.com",
      sub: "project_path:example-org/app:ref_type:branch:ref:main",
      exp: NOW + 3600,
      iat: NOW,
      nbf: NOW,
      jti: "3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a",
      namespace_id: "12885807",
      namespace_path: "example-org",
      project_id: "53804090",
      project_path: "example-org/app",
      user_id: "1017",
      user_login: "octo-dev",
      user_email: "octo-dev@example.com",
      user_access_level: "developer",
      user_identities: [],
      pipeline_id: "1234567",
      pipeline_source: "push",
      job_id: "5234567",
      ref: "main",
      ref_type: "branch",
      ref_path: "refs/heads/main",
      ref_protected: "true",
      runner_id: 12270857,
      runner_environment: "gitlab-hosted",
      sha: "714a629c0b401fdce83e847fc9589983fc6f46bc",
      project_visibility: "private",
      ci_config_ref_uri: "gitlab.com/example-org/app//.gitlab-ci.yml@refs/heads/main",
      ci_config_sha: "714a629c0b401fdce83e847fc9589983fc6f46bc",
    },
  },
  {
    label: "Buildkite claims",
    service: "registry.example.com",
    claims: {
      iss: "https://agent.buildkite.com",
      aud: "registry.example.com",
      sub: "organization:example-org:pipeline:app:ref:refs/heads/main:commit:9f3182061f1e2cca4702c368cbc039b7dc9d4485:step:",
      exp: NOW + 300,
      iat: NOW,
      nbf: NOW,
      jti: "6e5d4c3b-2a19-4f8e-8d7c-6b5a4f3e2d1c",
      organization_slug: "example-org",
      pipeline_slug: "app",
      build_number: 42,
      build_branch: "main",
      build_tag: null,
      build_commit: "9f3182061f1e2cca4702c368cbc039b7dc9d4485",
      step_key: null,
      job_id: "0184990a-4782-42b5-afc1-16715b10b900",
      agent_id: "0184990a-4782-42b5-afc1-16715b10b901",
      build_source: "ui",
      runner_environment: "self-hosted",
      organization_id: "0184990a-4782-42b5-afc1-16715b10b8ff",
      pipeline_id: "0184990a-477b-4fa8-9968-496074483cee",
    },
  },
  {
    label: "CircleCI claims",
    service: "registry.example.com",
    claims: {
      iss: "https://oidc.circleci.com/org/0f5a4b3c-2d1e-4f6a-8b7c-9d0e1f2a3b4c",
      aud: "0f5a4b3c-2d1e-4f6a-8b7c-9d0e1f2a3b4c",
      sub: "org/0f5a4b3c-2d1e-4f6a-8b7c-9d0e1f2a3b4c/project/e4a0e8b2-3c1d-4c5e-9f6a-7b8c9d0e1f2a/user/1b2c3d4e-5f60-4718-8a9b-0c1d2e3f4a5b",
      exp: NOW + 3600,
      iat: NOW,
      jti: "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
      "oidc.circleci.com/project-id": "e4a0e8b2-3c1d-4c5e-9f6a-7b8c9d0e1f2a",
      "oidc.circleci.com/vcs-origin": "github.com/example-org/app",
      "oidc.circleci.com/vcs-ref": "refs/heads/main",
      "oidc.circleci.com/context-ids": ["a74579f1-2e7d-451e-b009-5c082ad2729e"],
      "oidc.circleci.com/ssh-rerun": false,
    },
  },
];

export const SCOPE_SAMPLES: readonly ScopeInput[] = [
  { type: "repository", name: "example-org/app", action: "pull" },
  { type: "repository", name: "team-a/app", action: "push" },
  { type: "repository", name: "registry.example.com/team-a/app", action: "delete" },
  { type: "repository", class: "plugin", name: "example-org/plugin", action: "pull" },
  { type: "registry", name: "catalog", action: "*" },
];
