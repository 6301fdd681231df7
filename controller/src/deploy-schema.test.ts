/**
 * Every YAML document under deploy/ is valid for what reads it:
 * - Kubernetes API objects against the API's OpenAPI schemas (kubernetes-models,
 *   offline): types, enums, required fields, and unknown fields, which those
 *   schemas don't refuse (the apiserver drops or, with strict field validation,
 *   refuses them): the compiled validator reads every field its schema defines,
 *   so a field it never read is one the API doesn't have;
 * - the kubelet's CredentialProviderConfig against its documented fields
 *   (kubelet.config.k8s.io/v1; not in the OpenAPI schemas);
 * - kustomizations: the fields we use.
 */
import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { validate as configMap } from "kubernetes-models/_schemas/IoK8sApiCoreV1ConfigMap";
import { validate as namespace } from "kubernetes-models/_schemas/IoK8sApiCoreV1Namespace";
import { validate as service } from "kubernetes-models/_schemas/IoK8sApiCoreV1Service";
import { validate as serviceAccount } from "kubernetes-models/_schemas/IoK8sApiCoreV1ServiceAccount";
import { validate as daemonSet } from "kubernetes-models/_schemas/IoK8sApiAppsV1DaemonSet";
import { validate as deployment } from "kubernetes-models/_schemas/IoK8sApiAppsV1Deployment";
import { validate as clusterRole } from "kubernetes-models/_schemas/IoK8sApiRbacV1ClusterRole";
import { validate as clusterRoleBinding } from "kubernetes-models/_schemas/IoK8sApiRbacV1ClusterRoleBinding";
import { validate as role } from "kubernetes-models/_schemas/IoK8sApiRbacV1Role";
import { validate as roleBinding } from "kubernetes-models/_schemas/IoK8sApiRbacV1RoleBinding";

type Validate = ((data: unknown) => boolean) & { errors?: { instancePath: string; keyword: string; params: unknown }[] | null };
const API: Record<string, Validate> = {
  "v1/ConfigMap": configMap,
  "v1/Namespace": namespace,
  "v1/Service": service,
  "v1/ServiceAccount": serviceAccount,
  "apps/v1/DaemonSet": daemonSet,
  "apps/v1/Deployment": deployment,
  "rbac.authorization.k8s.io/v1/ClusterRole": clusterRole,
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": clusterRoleBinding,
  "rbac.authorization.k8s.io/v1/Role": role,
  "rbac.authorization.k8s.io/v1/RoleBinding": roleBinding,
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;

/** Runs `validate` on `data` and returns the schema errors plus the paths of fields the validator never read. */
function schemaProblems(validate: Validate, data: unknown): string[] {
  const read = new Map<object, Set<string>>();
  const enumerated = new Set<object>();
  const wrap = (value: unknown): unknown => {
    if (!isObject(value)) return value;
    read.set(value, new Set());
    return new Proxy(value, {
      get(target, key, receiver) {
        if (typeof key === "string") read.get(target)?.add(key);
        return wrap(Reflect.get(target, key, receiver));
      },
      has(target, key) {
        if (typeof key === "string") read.get(target)?.add(key);
        return Reflect.has(target, key);
      },
      // A map (labels, data, …) is walked by its keys: every key is allowed.
      ownKeys(target) {
        enumerated.add(target);
        return Reflect.ownKeys(target);
      },
    });
  };
  const ok = validate(wrap(data));
  const problems = ok ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || "/"}: ${e.keyword} ${JSON.stringify(e.params)}`);
  const walk = (value: unknown, path: string): void => {
    if (!isObject(value)) return;
    for (const [key, child] of Object.entries(value)) {
      const at = `${path}/${key}`;
      if (!Array.isArray(value) && !enumerated.has(value) && !read.get(value)?.has(key)) problems.push(`${at}: unknown field`);
      walk(child, at);
    }
  };
  walk(data, "");
  return problems;
}

// kubelet.config.k8s.io/v1 CredentialProviderConfig, from the kubelet configuration reference.
const CREDENTIAL_PROVIDER_FIELDS = ["name", "matchImages", "defaultCacheDuration", "apiVersion", "args", "env", "tokenAttributes"];
const TOKEN_ATTRIBUTES_1_33 = ["serviceAccountTokenAudience", "requireServiceAccount", "requiredServiceAccountAnnotationKeys", "optionalServiceAccountAnnotationKeys"];
const CACHE_TYPES = ["Token", "ServiceAccount"];

function credentialProviderProblems(config: Record<string, unknown>, file: string): string[] {
  const problems: string[] = [];
  const unknown = (obj: Record<string, unknown>, allowed: string[], path: string): void => {
    for (const key of Object.keys(obj)) if (!allowed.includes(key)) problems.push(`${path}/${key}: unknown field`);
  };
  unknown(config, ["apiVersion", "kind", "providers"], "");
  const providers = Array.isArray(config["providers"]) ? (config["providers"] as Record<string, unknown>[]) : [];
  if (providers.length === 0) problems.push("/providers: required");
  providers.forEach((p, i) => {
    unknown(p, CREDENTIAL_PROVIDER_FIELDS, `/providers/${i}`);
    for (const field of ["name", "matchImages", "defaultCacheDuration", "apiVersion"]) if (p[field] === undefined) problems.push(`/providers/${i}/${field}: required`);
    if (p["apiVersion"] !== "credentialprovider.kubelet.k8s.io/v1") problems.push(`/providers/${i}/apiVersion: not credentialprovider.kubelet.k8s.io/v1`);
    const attributes = p["tokenAttributes"];
    if (!isObject(attributes)) return;
    // cacheType exists (and is required) from 1.34; the 1.33 file must not have it.
    const v133 = file.endsWith("-1.33.yaml");
    unknown(attributes, v133 ? TOKEN_ATTRIBUTES_1_33 : [...TOKEN_ATTRIBUTES_1_33, "cacheType"], `/providers/${i}/tokenAttributes`);
    if (!v133 && !CACHE_TYPES.includes(attributes["cacheType"] as string)) problems.push(`/providers/${i}/tokenAttributes/cacheType: expected Token or ServiceAccount`);
    if (typeof attributes["serviceAccountTokenAudience"] !== "string") problems.push(`/providers/${i}/tokenAttributes/serviceAccountTokenAudience: required`);
    if (typeof attributes["requireServiceAccount"] !== "boolean") problems.push(`/providers/${i}/tokenAttributes/requireServiceAccount: required`);
  });
  return problems;
}

const DEPLOY = new URL("../deploy/", import.meta.url);
const files = readdirSync(DEPLOY, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".yaml")).sort();
const documents = files.flatMap((file) =>
  parseAllDocuments(readFileSync(new URL(file, DEPLOY), "utf8")).map((doc, i) => ({ file, i, doc: doc.toJS() as Record<string, unknown>, errors: doc.errors })),
);

describe("deploy/ manifests against the schemas", () => {
  it("finds the manifests", () => {
    expect(files).toContain("node-installer/daemonset.yaml");
    expect(documents.length).toBeGreaterThan(15);
  });

  it.each(documents.map((d) => [`${d.file}#${d.i}`, d] as const))("%s", (_, { file, doc, errors }) => {
    expect(errors).toEqual([]);
    const type = `${String(doc["apiVersion"])}/${String(doc["kind"])}`;
    if (file === "token-server-providers.yaml") return expect(doc["apiVersion"]).toBeUndefined(); // a providers file, checked in deploy.test.ts
    if (type === "kubelet.config.k8s.io/v1/CredentialProviderConfig") return expect(credentialProviderProblems(doc, file)).toEqual([]);
    if (type === "kustomize.config.k8s.io/v1beta1/Kustomization") return expect(Object.keys(doc).filter((k) => !["apiVersion", "kind", "resources"].includes(k))).toEqual([]);
    const validate = API[type];
    expect(validate, `no schema for ${type}`).toBeDefined();
    expect(schemaProblems(validate as Validate, doc)).toEqual([]);
  });

  it("the checks fail on what they should", () => {
    const good = documents.find((d) => d.file === "node-installer/daemonset.yaml")?.doc as Record<string, unknown>;
    const copy = (): Record<string, any> => structuredClone(good); // eslint-disable-line @typescript-eslint/no-explicit-any -- mutated by path below
    const typo = copy();
    typo["spec"].template.spec.containers[0].volumeMount = typo["spec"].template.spec.containers[0].volumeMounts;
    expect(schemaProblems(daemonSet, typo)).toEqual(["/spec/template/spec/containers/0/volumeMount: unknown field"]);
    const wrongType = copy();
    wrongType["spec"].template.spec.automountServiceAccountToken = "false";
    expect(schemaProblems(daemonSet, wrongType)).toEqual(['/spec/template/spec/automountServiceAccountToken: type {"type":"boolean"}']);
    const missing = copy();
    delete missing["spec"].selector;
    expect(schemaProblems(daemonSet, missing)).toEqual(['/spec: required {"missingProperty":"selector"}']);
    // Maps accept any key.
    const labels = copy();
    labels["metadata"].labels.anything = "x";
    expect(schemaProblems(daemonSet, labels)).toEqual([]);
    const cpc = documents.find((d) => d.file === "credential-provider-config.yaml")?.doc as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- walked by path
    expect(credentialProviderProblems(cpc, "credential-provider-config-1.33.yaml")).toEqual(["/providers/0/tokenAttributes/cacheType: unknown field"]);
    const noCache = structuredClone(cpc);
    delete noCache["providers"][0].tokenAttributes.cacheType;
    expect(credentialProviderProblems(noCache, "credential-provider-config.yaml")).toEqual(["/providers/0/tokenAttributes/cacheType: expected Token or ServiceAccount"]);
  });
});
