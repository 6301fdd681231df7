/**
 * `policy init PLATFORM`: a starter providers file for one CI (or a
 * Kubernetes cluster) with the owner pin filled in from a flag, an authz that
 * grants little (pull the owner's repositories, push only the job's own
 * repository from one branch), and a comment on every line. What it prints
 * validates with no errors and no warnings — it is checked before it is
 * printed — and passes the shared-issuer guard (core/src/policy/shared-issuer.ts).
 */
import { writeFileSync } from "node:fs";
import { parseProvidersConfig } from "@jwt-registry-auth/core/providers/config";
import { PROVIDER_NAME_PATTERN } from "@jwt-registry-auth/core/providers/validate";
import { EXIT_FAILED, EXIT_OK, parseCommandArgs, UsageError, type Io } from "../io.ts";

export const INIT_HELP = `Usage: jwt-registry-auth policy init PLATFORM --name NAME <pin> [options]

Prints a starter providers file for PLATFORM, with the owner pinned by its
immutable id, a narrow authz and a comment on every line (or writes it to
--out FILE, never over an existing file). Check it with 'policy validate',
try it with 'policy test'.

  github      --owner-id ID          the organization's or user's numeric id
                                     (gh api users/OWNER --jq .id; the token's repository_owner_id)
  gitlab      --namespace-id ID      the top-level group's numeric id (the token's namespace_id)
              [--issuer URL]         a self-managed instance (default https://gitlab.com)
  buildkite   --organization-id ID   the organization's UUID (the token's organization_id, requested
                                     with buildkite-agent oidc request-token --claim organization_id)
  circleci    --org-id ID            the organization's UUID (Organization Settings → Overview);
                                     the issuer https://oidc.circleci.com/org/ID carries it
  bitbucket   --workspace SLUG --workspace-uuid UUID
                                     the workspace's slug (in the issuer URL) and its UUID (the token's
                                     workspaceUuid; Repository settings → OpenID Connect shows both)
  terraform   --organization-id ID   the HCP Terraform organization's id, org-… (the token's terraform_organization_id)
  kubernetes  --issuer URL --namespace NS [--service-account SA]
                                     the cluster's service-account issuer, and who may log in

Options:
  --name NAME        the provider's name: the username clients log in with (required)
  --audience A       the aud the tokens carry: the registry host your CI asks for
                     (required, except circleci: default the org id, what $CIRCLE_OIDC_TOKEN carries,
                     and bitbucket: default ari:cloud:bitbucket::workspace/UUID, Bitbucket's default)
  --branch B         the branch that may push (github, gitlab, buildkite, bitbucket; default main)
  --out FILE         write the file instead of printing it; refuses to overwrite`;

export const INIT_PLATFORMS = ["github", "gitlab", "buildkite", "circleci", "bitbucket", "terraform", "kubernetes"] as const;
export type InitPlatform = (typeof INIT_PLATFORMS)[number];

export interface InitOptions {
  readonly name: string;
  readonly audience?: string;
  readonly branch?: string;
  readonly ownerId?: string;
  readonly namespaceId?: string;
  readonly organizationId?: string;
  readonly orgId?: string;
  readonly issuer?: string;
  readonly namespace?: string;
  readonly serviceAccount?: string;
  readonly workspace?: string;
  readonly workspaceUuid?: string;
}

const DIGITS = /^[1-9][0-9]{0,19}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A Git branch name we are willing to put in a CEL string literal: no quotes, backslashes or control characters. */
const BRANCH = /^[A-Za-z0-9._/-]{1,200}$/;
/** An HCP Terraform organization id. */
const TERRAFORM_ORG_ID = /^org-[A-Za-z0-9]{1,64}$/;
/** A Bitbucket workspace slug (its URL name). */
const WORKSPACE_SLUG = /^[a-z0-9][a-z0-9_-]{0,61}$/;
/** A Kubernetes namespace or service-account name (DNS label / subdomain). */
const K8S_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

function required(value: string | undefined, flag: string, platform: string, pattern: RegExp, what: string): string {
  if (value === undefined || value === "") throw new UsageError(`policy init ${platform} needs ${flag} (${what})`);
  if (!pattern.test(value)) throw new UsageError(`${flag} ${JSON.stringify(value)} is not ${what}`);
  return value;
}

function audienceOf(options: InitOptions, platform: string, fallback?: string): string {
  const audience = options.audience ?? fallback;
  if (audience === undefined || audience === "") {
    throw new UsageError(`policy init ${platform} needs --audience: the aud your tokens carry, usually the registry host (e.g. registry.example.com)`);
  }
  if ([...audience].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f) || audience.length > 1024) throw new UsageError("--audience must be at most 1024 characters, without control characters");
  return audience;
}

/** A YAML double-quoted scalar (JSON's string syntax is YAML's). */
const q = (value: string): string => JSON.stringify(value);

function header(platform: string, options: InitOptions): string[] {
  return [
    `# Generated by: jwt-registry-auth policy init ${platform} --name ${options.name} …`,
    "# Check it:  npm run cli -- policy validate FILE",
    "# Try it:    npm run cli -- policy test FILE --service REGISTRY --claims @claims.json --scope repository:NAME:pull,push",
    "# Apply it:  npm run cli -- policy apply FILE --remote   (docs/policy.md has the reference)",
    "providers:",
  ];
}

function github(options: InitOptions): string[] {
  const ownerId = required(options.ownerId, "--owner-id", "github", DIGITS, "a GitHub owner id (digits: gh api users/OWNER --jq .id)");
  const branch = required(options.branch ?? "main", "--branch", "github", BRANCH, "a branch name");
  const audience = audienceOf(options, "github");
  return [
    ...header("github", options),
    "  # The username: docker login -u NAME -p <the job's OIDC token>.",
    `  - name: ${options.name}`,
    `    description: ${q(`GitHub Actions workflows of the owner with id ${ownerId}`)}`,
    "    # GitHub signs the Actions tokens of every GitHub customer with this one issuer,",
    "    # so the issuer alone says nothing about whose workflow it is: authn pins the owner.",
    "    issuer: https://token.actions.githubusercontent.com",
    "    # The aud the workflow requests (the jwt-registry-auth action asks for the registry host).",
    `    audiences: [${q(audience)}]`,
    "    authn:",
    "      # Only this owner's workflows log in. repository_owner_id is the immutable id of the",
    "      # organization or user; its name (repository_owner) can be deleted and registered again.",
    "      condition: |",
    `        claims.repository_owner_id == ${q(ownerId)}`,
    "    authz:",
    "      # Pinned again so the grant stands on its own if authn is ever edited. Then:",
    "      # pull any repository of the owner (registry names are lowercase: if the owner's name",
    "      # has capitals, write the prefix out instead), and push only the workflow's own",
    `      # repository (and names under it), only from ${branch}.`,
    "      condition: |",
    `        claims.repository_owner_id == ${q(ownerId)} &&`,
    '        scope.type == "repository" &&',
    '        ((scope.action == "pull" && scope.name.startsWith(claims.repository_owner + "/")) ||',
    '          (scope.action == "push" && claims.ref == ' + q(`refs/heads/${branch}`) + " &&",
    '            (scope.name == claims.repository || scope.name.startsWith(claims.repository + "/"))))',
    "    # GitHub's tokens live minutes; refuse anything that claims to live longer than an hour.",
    "    maxTokenLifetime: 1h",
    "    # docker login stores a refresh token (1 h) so long pushes outlive the 5-minute token.",
    "    refresh: { lifetime: 1h }",
  ];
}

function gitlab(options: InitOptions): string[] {
  const namespaceId = required(options.namespaceId, "--namespace-id", "gitlab", DIGITS, "a GitLab namespace id (digits: the group's ID on its overview page)");
  const branch = required(options.branch ?? "main", "--branch", "gitlab", BRANCH, "a branch name");
  const audience = audienceOf(options, "gitlab");
  const issuer = options.issuer ?? "https://gitlab.com";
  if (!/^https:\/\/[^/?#\s"]+(\/[^?#\s"]*)?$/.test(issuer)) throw new UsageError(`--issuer ${q(issuer)} is not an https URL`);
  return [
    ...header("gitlab", options),
    "  # The username: docker login -u NAME -p $ID_TOKEN (an id_tokens: entry of .gitlab-ci.yml).",
    `  - name: ${options.name}`,
    `    description: ${q(`GitLab CI/CD jobs of the namespace with id ${namespaceId}`)}`,
    issuer === "https://gitlab.com"
      ? "    # GitLab.com signs the ID tokens of every group and user with this one issuer: authn pins the namespace."
      : "    # Your instance's issuer: every group on it shares it, so authn pins the namespace.",
    `    issuer: ${issuer}`,
    "    # The aud of the job's id_tokens entry (id_tokens: {REGISTRY_TOKEN: {aud: ...}}).",
    `    audiences: [${q(audience)}]`,
    "    authn:",
    "      # Only this top-level group's jobs log in. namespace_id is immutable (GitLab sends it as a",
    "      # string); namespace_path is a name that can be changed and taken by someone else.",
    "      condition: |",
    `        claims.namespace_id == ${q(namespaceId)}`,
    "    authz:",
    "      # Pinned again so the grant stands on its own. Pull any repository under the namespace's",
    `      # path; push only the job's own project (and names under it), from the protected ${branch}.`,
    "      condition: |",
    `        claims.namespace_id == ${q(namespaceId)} &&`,
    '        scope.type == "repository" &&',
    '        ((scope.action == "pull" && scope.name.startsWith(claims.namespace_path + "/")) ||',
    `          (scope.action == "push" && claims.ref_type == "branch" && claims.ref == ${q(branch)} && claims.ref_protected == "true" &&`,
    '            (scope.name == claims.project_path || scope.name.startsWith(claims.project_path + "/"))))',
    "    # An ID token lives as long as the job's timeout (default 1 h): raise this only for longer jobs.",
    "    maxTokenLifetime: 24h",
    "    refresh: { lifetime: 1h }",
  ];
}

function buildkite(options: InitOptions): string[] {
  const organizationId = required(options.organizationId, "--organization-id", "buildkite", UUID, "a Buildkite organization UUID (lowercase)");
  const branch = required(options.branch ?? "main", "--branch", "buildkite", BRANCH, "a branch name");
  const audience = audienceOf(options, "buildkite");
  return [
    ...header("buildkite", options),
    "  # The username: docker login -u NAME -p \"$(buildkite-agent oidc request-token \\",
    "  #   --audience AUDIENCE --claim organization_id)\" — without --claim organization_id nobody logs in.",
    `  - name: ${options.name}`,
    `    description: ${q(`Buildkite pipelines of the organization ${organizationId}`)}`,
    "    # Buildkite signs every organization's agent tokens with this one issuer: authn pins the organization.",
    "    issuer: https://agent.buildkite.com",
    "    # The --audience the step requests.",
    `    audiences: [${q(audience)}]`,
    "    authn:",
    "      # Only this organization's jobs log in. organization_id is immutable; organization_slug",
    "      # is a name that can be released and registered again.",
    "      condition: |",
    `        claims.organization_id == ${q(organizationId)}`,
    "    authz:",
    "      # Pinned again so the grant stands on its own. Pull any repository under the organization's",
    `      # slug; push only ORG/PIPELINE (and names under it), from ${branch}, never from a tag build.`,
    "      condition: |",
    `        claims.organization_id == ${q(organizationId)} &&`,
    '        scope.type == "repository" &&',
    '        ((scope.action == "pull" && scope.name.startsWith(claims.organization_slug + "/")) ||',
    `          (scope.action == "push" && claims.build_branch == ${q(branch)} && claims.build_tag == null &&`,
    '            (scope.name == claims.organization_slug + "/" + claims.pipeline_slug ||',
    '              scope.name.startsWith(claims.organization_slug + "/" + claims.pipeline_slug + "/"))))',
    "    # Buildkite's tokens live 5 minutes by default (--lifetime can ask for more).",
    "    maxTokenLifetime: 1h",
    "    refresh: { lifetime: 1h }",
  ];
}

function circleci(options: InitOptions): string[] {
  const orgId = required(options.orgId, "--org-id", "circleci", UUID, "a CircleCI organization UUID (lowercase)");
  const audience = audienceOf(options, "circleci", orgId);
  return [
    ...header("circleci", options),
    "  # The username: docker login -u NAME -p $CIRCLE_OIDC_TOKEN.",
    `  - name: ${options.name}`,
    `    description: ${q(`CircleCI projects of the organization ${orgId}`)}`,
    "    # CircleCI's issuer carries the organization id, so the iss check already pins the organization.",
    `    issuer: https://oidc.circleci.com/org/${orgId}`,
    audience === orgId
      ? "    # $CIRCLE_OIDC_TOKEN's aud is the organization id (circleci run oidc get --claims '{\"aud\":...}' for another)."
      : "    # The aud the job asks for (circleci run oidc get --claims '{\"aud\":\"...\"}').",
    `    audiences: [${q(audience)}]`,
    "    authn:",
    "      # Belt and braces: the subject names the same organization (org/ORG/project/PROJECT/user/USER).",
    "      condition: |",
    `        claims.sub.startsWith(${q(`org/${orgId}/`)})`,
    "    authz:",
    "      # Each project pulls and pushes the repository named like its VCS repository (vcs-origin",
    "      # github.com/ORG/REPO → ORG/REPO; registry names are lowercase), and pushes only from main.",
    "      # To pin one project, add claims[\"oidc.circleci.com/project-id\"] == \"<project id>\".",
    "      condition: |",
    '        scope.type == "repository" &&',
    '        claims["oidc.circleci.com/vcs-origin"] in ["github.com/" + scope.name, "bitbucket.org/" + scope.name, "gitlab.com/" + scope.name] &&',
    '        (scope.action == "pull" || (scope.action == "push" && claims["oidc.circleci.com/vcs-ref"] == "refs/heads/main"))',
    "    # CircleCI's tokens live one hour.",
    "    maxTokenLifetime: 1h",
    "    refresh: { lifetime: 1h }",
  ];
}

function bitbucket(options: InitOptions): string[] {
  const workspace = required(options.workspace, "--workspace", "bitbucket", WORKSPACE_SLUG, "a Bitbucket workspace slug (lowercase, as in bitbucket.org/SLUG)");
  const uuid = required(options.workspaceUuid?.replace(/^\{(.*)\}$/, "$1"), "--workspace-uuid", "bitbucket", UUID, "a Bitbucket workspace UUID (lowercase, with or without braces)");
  const branch = required(options.branch ?? "main", "--branch", "bitbucket", BRANCH, "a branch name");
  const audience = audienceOf(options, "bitbucket", `ari:cloud:bitbucket::workspace/${uuid}`);
  return [
    ...header("bitbucket", options),
    "  # The username: docker login -u NAME -p $BITBUCKET_STEP_OIDC_TOKEN (a step with oidc: true).",
    `  - name: ${options.name}`,
    `    description: ${q(`Bitbucket Pipelines of the workspace ${workspace} ({${uuid}})`)}`,
    "    # The issuer names the workspace by its slug, which can be renamed and then taken by",
    "    # someone else: authn pins the workspace's UUID, which never changes.",
    `    issuer: https://api.bitbucket.org/2.0/workspaces/${workspace}/pipelines-config/identity/oidc`,
    "    # Bitbucket's default audience (a step's oidc: {audiences: [...]} can ask for the registry host instead).",
    `    audiences: [${q(audience)}]`,
    "    authn:",
    "      # Only this workspace's steps log in. Bitbucket sends its UUIDs in braces.",
    "      condition: |",
    `        claims.workspaceUuid == ${q(`{${uuid}}`)}`,
    "    authz:",
    `      # Pinned again so the grant stands on its own. Pull any ${workspace}/* repository; push them`,
    `      # only from ${branch}. The token names repositories by UUID only: to let one repository push`,
    "      # only its own image, add claims.repositoryUuid == \"{<repository UUID>}\" to a push rule per image.",
    "      condition: |",
    `        claims.workspaceUuid == ${q(`{${uuid}}`)} &&`,
    `        scope.type == "repository" && scope.name.startsWith(${q(`${workspace}/`)}) &&`,
    `        (scope.action == "pull" || (scope.action == "push" && claims.branchName == ${q(branch)}))`,
    "    # Bitbucket's step tokens live an hour.",
    "    maxTokenLifetime: 2h",
    "    refresh: { lifetime: 1h }",
  ];
}

function terraform(options: InitOptions): string[] {
  const organizationId = required(options.organizationId, "--organization-id", "terraform", TERRAFORM_ORG_ID, "an HCP Terraform organization id (org-…)");
  const audience = audienceOf(options, "terraform");
  return [
    ...header("terraform", options),
    "  # The username: docker login -u NAME -p $TFC_WORKLOAD_IDENTITY_TOKEN",
    "  # (set TFC_WORKLOAD_IDENTITY_AUDIENCE on the workspace to the audience below).",
    `  - name: ${options.name}`,
    `    description: ${q(`HCP Terraform runs of the organization ${organizationId}`)}`,
    "    # HCP Terraform signs the runs of every organization with this one issuer: authn pins the organization.",
    "    issuer: https://app.terraform.io",
    "    # The workspace's TFC_WORKLOAD_IDENTITY_AUDIENCE.",
    `    audiences: [${q(audience)}]`,
    "    authn:",
    "      # Only this organization's runs log in. terraform_organization_id never changes;",
    "      # terraform_organization_name can be changed and then taken by someone else.",
    "      condition: |",
    `        claims.terraform_organization_id == ${q(organizationId)}`,
    "    authz:",
    "      # Pinned again so the grant stands on its own. Pull repositories under the organization's",
    "      # name (safe: authn pinned the id), and only in the apply phase: a plan (which a pull request",
    "      # can run) never reads the registry.",
    "      condition: |",
    `        claims.terraform_organization_id == ${q(organizationId)} &&`,
    '        scope.type == "repository" && scope.action == "pull" && claims.terraform_run_phase == "apply" &&',
    '        scope.name.startsWith(claims.terraform_organization_name + "/")',
    "    # A run phase's token lives until the phase's end, at most 24 hours.",
    "    maxTokenLifetime: 24h",
    "    refresh: false",
  ];
}

function kubernetes(options: InitOptions): string[] {
  const issuer = options.issuer;
  if (issuer === undefined || issuer === "") throw new UsageError("policy init kubernetes needs --issuer (the cluster's service-account issuer: kubectl get --raw /.well-known/openid-configuration | jq -r .issuer)");
  if (!/^https:\/\/[^/?#\s"]+(\/[^?#\s"]*)?$/.test(issuer)) throw new UsageError(`--issuer ${q(issuer)} is not an https URL`);
  const namespace = required(options.namespace, "--namespace", "kubernetes", K8S_NAME, "a Kubernetes namespace name");
  const serviceAccount = options.serviceAccount === undefined ? undefined : required(options.serviceAccount, "--service-account", "kubernetes", K8S_NAME, "a service-account name");
  const audience = audienceOf(options, "kubernetes");
  return [
    ...header("kubernetes", options),
    "  # The username the controller or kubelet credential provider logs in with.",
    `  - name: ${options.name}`,
    `    description: ${q(`Pods of namespace ${namespace}${serviceAccount === undefined ? "" : ` running as ${serviceAccount}`}`)}`,
    "    # The cluster's service-account issuer: one cluster, so the issuer names it (keys from its discovery).",
    `    issuer: ${issuer}`,
    "    # The audience the TokenRequest asks for (the controller asks for the registry host).",
    `    audiences: [${q(audience)}]`,
    "    authn:",
    serviceAccount === undefined
      ? `      # Only pods of namespace ${namespace} log in (any of its service accounts).`
      : `      # Only pods running as service account ${serviceAccount} in namespace ${namespace} log in.`,
    "      condition: |",
    serviceAccount === undefined
      ? `        claims["kubernetes.io"].namespace == ${q(namespace)}`
      : `        claims.sub == ${q(`system:serviceaccount:${namespace}:${serviceAccount}`)}`,
    "    authz:",
    `      # Pull ${namespace}/* repositories; nothing else (no push from a cluster).`,
    "      condition: |",
    `        claims["kubernetes.io"].namespace == ${q(namespace)} &&`,
    `        scope.type == "repository" && scope.action == "pull" && scope.name.startsWith(${q(`${namespace}/`)})`,
    "    # TokenRequest tokens live as long as the controller asks (it asks for 1 h).",
    "    maxTokenLifetime: 2h",
    "    # The controller asks for a fresh token instead of refreshing.",
    "    refresh: false",
  ];
}

const BUILDERS: Readonly<Record<InitPlatform, (options: InitOptions) => string[]>> = { github, gitlab, buildkite, circleci, bitbucket, terraform, kubernetes };

/** The flags each platform takes beyond --name, --audience and --out. */
const PLATFORM_FLAGS: Readonly<Record<InitPlatform, readonly (keyof InitOptions)[]>> = {
  github: ["ownerId", "branch"],
  gitlab: ["namespaceId", "branch", "issuer"],
  buildkite: ["organizationId", "branch"],
  circleci: ["orgId"],
  bitbucket: ["workspace", "workspaceUuid", "branch"],
  terraform: ["organizationId"],
  kubernetes: ["issuer", "namespace", "serviceAccount"],
};

function isPlatform(value: string): value is InitPlatform {
  return (INIT_PLATFORMS as readonly string[]).includes(value);
}

/** The starter file's text; throws UsageError for a bad flag. It always validates with no errors and no warnings. */
export function starterPolicy(platform: InitPlatform, options: InitOptions): string {
  if (!PROVIDER_NAME_PATTERN.test(options.name)) throw new UsageError(`--name ${q(options.name)} must match ${PROVIDER_NAME_PATTERN.source} (it is the Basic-auth username)`);
  const text = `${BUILDERS[platform](options).join("\n")}\n`;
  const check = parseProvidersConfig(text, "policy init");
  const problems = [...check.errors, ...check.warnings];
  // Every value put into the template was checked above, so this is a bug in the template, never in the input.
  if (problems.length > 0) throw new Error(`policy init ${platform} made a file that does not validate cleanly: ${problems.map((p) => `${p.line}:${p.column} ${p.message}`).join("; ")}`);
  return text;
}

export async function policyInitCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      name: { type: "string" },
      audience: { type: "string" },
      branch: { type: "string" },
      "owner-id": { type: "string" },
      "namespace-id": { type: "string" },
      "organization-id": { type: "string" },
      "org-id": { type: "string" },
      issuer: { type: "string" },
      namespace: { type: "string" },
      "service-account": { type: "string" },
      workspace: { type: "string" },
      "workspace-uuid": { type: "string" },
      out: { type: "string" },
    },
    { min: 1, max: 1, names: `PLATFORM (${INIT_PLATFORMS.join(", ")})` },
  );
  const platform = positionals[0] as string;
  if (!isPlatform(platform)) throw new UsageError(`unknown platform ${q(platform)} (expected: ${INIT_PLATFORMS.join(", ")})`);
  if (values.name === undefined || values.name === "") throw new UsageError("--name is required (the username clients log in with)");
  const options: InitOptions = {
    name: values.name,
    ...(values.audience !== undefined && { audience: values.audience }),
    ...(values.branch !== undefined && { branch: values.branch }),
    ...(values["owner-id"] !== undefined && { ownerId: values["owner-id"] }),
    ...(values["namespace-id"] !== undefined && { namespaceId: values["namespace-id"] }),
    ...(values["organization-id"] !== undefined && { organizationId: values["organization-id"] }),
    ...(values["org-id"] !== undefined && { orgId: values["org-id"] }),
    ...(values.issuer !== undefined && { issuer: values.issuer }),
    ...(values.namespace !== undefined && { namespace: values.namespace }),
    ...(values["service-account"] !== undefined && { serviceAccount: values["service-account"] }),
    ...(values.workspace !== undefined && { workspace: values.workspace }),
    ...(values["workspace-uuid"] !== undefined && { workspaceUuid: values["workspace-uuid"] }),
  };
  const foreign = (Object.keys(options) as (keyof InitOptions)[]).filter((k) => !["name", "audience"].includes(k) && !PLATFORM_FLAGS[platform].includes(k));
  if (foreign.length > 0) {
    const flag = (k: string): string => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    throw new UsageError(`policy init ${platform} does not take ${foreign.map(flag).join(", ")}`);
  }
  const text = starterPolicy(platform, options);
  if (values.out === undefined) {
    io.out(text.trimEnd());
    return EXIT_OK;
  }
  try {
    writeFileSync(values.out, text, { flag: "wx" });
  } catch (e) {
    const code = e instanceof Error && "code" in e ? String(e.code) : String(e);
    io.err(code === "EEXIST" ? `error: ${values.out} exists; policy init never overwrites a file (remove it, or choose another --out)` : `error: cannot write ${values.out}: ${code}`);
    return EXIT_FAILED;
  }
  io.out(`wrote ${values.out}: provider ${options.name} (${platform}); check it with: npm run cli -- policy validate ${values.out}`);
  return EXIT_OK;
}
