/**
 * The manifests in deploy/ are consistent with the code: the Deployment's
 * flags parse, its probes hit the endpoints the controller serves, the RBAC
 * binds the ServiceAccount the Deployment runs as, the kubelet config's args
 * parse, and the token server providers example is a valid providers file.
 */
import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { parseAllDocuments } from "yaml";
import { parseProvidersConfig } from "@jwt-registry-auth/core/providers/config";
import { PROVIDER_ANNOTATION } from "./annotations.ts";
import { parseConfig } from "./config.ts";
import { parseProviderArgs } from "./credential-provider/args.ts";

const DEPLOY = new URL("../deploy/", import.meta.url);
const read = (file: string): string => readFileSync(new URL(file, DEPLOY), "utf8");
type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- manifests are walked by path in assertions
const docs = (file: string): Doc[] => parseAllDocuments(read(file)).map((d) => d.toJS() as Doc);
const one = (file: string, kind: string): Doc => {
  const found = docs(file).filter((d) => d["kind"] === kind);
  expect(found).toHaveLength(1);
  return found[0] as Doc;
};

describe("deploy/", () => {
  it("kustomization lists every cluster manifest", () => {
    const listed = (one("kustomization.yaml", "Kustomization")["resources"] as string[]).sort();
    const examples = ["credential-provider-config.yaml", "credential-provider-config-1.33.yaml", "token-server-providers.yaml", "kustomization.yaml"];
    expect(listed).toEqual(readdirSync(DEPLOY).filter((f) => f.endsWith(".yaml") && !examples.includes(f)).sort());
  });

  it("the Deployment's flags parse, and its probes and port match the health endpoint", () => {
    const deployment = one("deployment.yaml", "Deployment");
    const container = deployment["spec"].template.spec.containers[0];
    const config = parseConfig(container.args, { POD_NAMESPACE: "jwt-registry-auth" });
    expect(config.leaderElection).toMatchObject({ enabled: true, namespace: "jwt-registry-auth" });
    expect(container.ports).toEqual([{ name: "http", containerPort: config.listen.port }]);
    expect(container.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "http" });
    expect(container.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "http" });
    expect(container.env).toContainEqual({ name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } });
    expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
    expect(deployment["spec"].template.spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
  });

  it("RBAC binds the Deployment's ServiceAccount, and the Lease rule names the default Lease", () => {
    const sa = one("serviceaccount.yaml", "ServiceAccount")["metadata"];
    expect(one("deployment.yaml", "Deployment")["spec"].template.spec.serviceAccountName).toBe(sa.name);
    const rbac = docs("rbac.yaml");
    for (const binding of rbac.filter((d) => String(d["kind"]).endsWith("Binding"))) {
      expect(binding["subjects"]).toEqual([{ kind: "ServiceAccount", name: sa.name, namespace: sa.namespace }]);
    }
    const leaseRule = (rbac.find((d) => d["kind"] === "Role")?.["rules"] as Doc[]).find((r) => r["resourceNames"]);
    expect(leaseRule?.["resourceNames"]).toEqual([parseConfig(["--registry", "r.example"], {}).leaderElection.name]);
  });

  it("the kubelet's CredentialProviderConfig passes args the provider accepts and lets ServiceAccounts choose the provider", () => {
    const provider = one("credential-provider-config.yaml", "CredentialProviderConfig")["providers"][0];
    expect(provider).toMatchObject({ name: "jwt-registry-auth-credential-provider", apiVersion: "credentialprovider.kubelet.k8s.io/v1" });
    expect(parseProviderArgs(provider.args, {}).username).toBe("kubernetes");
    // The plugin refuses images off its --registry list; the kubelet should send it no others.
    expect(parseProviderArgs(provider.args, {}).registries).toEqual(provider.matchImages);
    expect(provider.tokenAttributes).toEqual({
      serviceAccountTokenAudience: "https://registry.example.com",
      cacheType: "Token",
      requireServiceAccount: true,
      optionalServiceAccountAnnotationKeys: [PROVIDER_ANNOTATION],
    });
  });

  it("the 1.33 kubelet config is the 1.34+ one without tokenAttributes.cacheType (a field 1.33 doesn't have)", () => {
    const current = one("credential-provider-config.yaml", "CredentialProviderConfig");
    const v133 = one("credential-provider-config-1.33.yaml", "CredentialProviderConfig");
    const { cacheType, ...rest } = current["providers"][0].tokenAttributes as Doc;
    expect(cacheType).toBe("Token");
    expect(v133).toEqual({ ...current, providers: [{ ...current["providers"][0], tokenAttributes: rest }] });
  });

  it("node RBAC grants system:nodes request-serviceaccounts-token-audience for exactly the kubelet configs' audience", () => {
    const audiences = ["credential-provider-config.yaml", "credential-provider-config-1.33.yaml"].map(
      (f) => one(f, "CredentialProviderConfig")["providers"][0].tokenAttributes.serviceAccountTokenAudience as string,
    );
    const role = one("node-rbac.yaml", "ClusterRole");
    expect(role["rules"]).toEqual([{ apiGroups: [""], resources: [...new Set(audiences)], verbs: ["request-serviceaccounts-token-audience"] }]);
    const binding = one("node-rbac.yaml", "ClusterRoleBinding");
    expect(binding["roleRef"]).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role["metadata"].name });
    expect(binding["subjects"]).toEqual([{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "system:nodes" }]);
  });

  it("the node installer: its kustomization lists its files, its ConfigMap is a shipped kubelet config, and each host path it writes is in a mounted hostPath folder", () => {
    const listed = (one("node-installer/kustomization.yaml", "Kustomization")["resources"] as string[]).sort();
    expect(listed).toEqual(readdirSync(new URL("node-installer/", DEPLOY)).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml").sort());
    const configMap = one("node-installer/configmap.yaml", "ConfigMap");
    expect([read("credential-provider-config.yaml"), read("credential-provider-config-1.33.yaml")]).toContain(configMap["data"]["credential-provider-config.yaml"]);
    const namespace = one("node-installer/namespace.yaml", "Namespace")["metadata"];
    const daemonSet = one("node-installer/daemonset.yaml", "DaemonSet");
    expect([configMap["metadata"].namespace, daemonSet["metadata"].namespace]).toEqual([namespace.name, namespace.name]);
    const pod = daemonSet["spec"].template.spec;
    const [container] = pod.containers as Doc[];
    const flags = Object.fromEntries((container?.["args"] as string[]).slice(1).map((a) => a.replace(/^--/, "").split("=") as [string, string?]));
    expect(container?.["args"][0]).toBe("/app/install-node.mjs");
    const mountOf = (path: string): Doc | undefined => (container?.["volumeMounts"] as Doc[]).find((m) => dirname(path) === m["mountPath"]);
    const volume = (name: unknown): Doc | undefined => (pod.volumes as Doc[]).find((v) => v["name"] === name);
    for (const hostPath of [`${flags["install-dir"]}/node`, `${flags["bin-dir"]}/x`, flags["config-file"]]) {
      expect(volume(mountOf(`${flags["host-root"]}${hostPath}`)?.["name"])?.["hostPath"]).toEqual({ path: dirname(hostPath as string), type: "DirectoryOrCreate" });
    }
    expect(volume(mountOf(flags["config-src"] as string)?.["name"])?.["configMap"]).toEqual({ name: configMap["metadata"].name });
    expect(Object.keys(flags).sort()).toEqual(["bin-dir", "config-file", "config-src", "host-root", "install-dir", "wait"]);
  });

  it("the token server providers example is a valid providers file", () => {
    const result = parseProvidersConfig(read("token-server-providers.yaml"), "token-server-providers.yaml");
    expect(result.errors).toEqual([]);
    expect(result.providers.map((p) => [p.name, p.keys.source])).toEqual([
      ["kubernetes", "discovery"],
      ["kubernetes-private", "jwks"],
    ]);
  });
});
