/**
 * Representative bindings a condition is evaluated against when it is loaded,
 * standing in for the type checker @bufbuild/cel doesn't have: a condition
 * that yields something other than a bool on these is rejected before it can
 * refuse (or worse, be misread for) real requests. The claim shapes are the
 * real ones: GitHub Actions' OIDC token and a Kubernetes service-account token.
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
];

export const SCOPE_SAMPLES: readonly ScopeInput[] = [
  { type: "repository", name: "example-org/app", action: "pull" },
  { type: "repository", name: "team-a/app", action: "push" },
  { type: "repository", name: "registry.example.com/team-a/app", action: "delete" },
  { type: "repository", class: "plugin", name: "example-org/plugin", action: "pull" },
  { type: "registry", name: "catalog", action: "*" },
];
