/**
 * The credential provider as the kubelet runs it — and as the issue asks:
 * `npm run -s credential-provider -- ARGS` from the repository root, with a
 * CredentialProviderRequest on stdin. Stdout must be the response alone.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { KubeConfig, CoreV1Api } from "@kubernetes/client-node";
import { createLocalJWKSet, jwtVerify } from "jose";
import { SERVICE_ACCOUNTS, type KubeObject } from "@jwt-registry-auth/testkit/kube-apiserver/index";
import { standInCluster, type StandInCluster } from "../test-support.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

type Via = "npm" | "bin";

/** `npm run -s credential-provider` as documented, or the package's bin (what a kubelet's config points at). */
function run(args: string[], stdin: string, env: Record<string, string> = {}, via: Via = "npm"): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [command, argv] = via === "npm" ? ["npm", ["run", "-s", "credential-provider", "--", ...args]] : [process.execPath, ["controller/bin/credential-provider.js", ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(command as string, argv as string[], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

// Each case starts npm or node + tsx: seconds apiece on a busy 2-core machine.
vi.setConfig({ testTimeout: 60_000 });

let cluster: StandInCluster;
let token: string;

beforeAll(async () => {
  cluster = await standInCluster();
  cluster.api.store.create(SERVICE_ACCOUNTS, "default", { metadata: { name: "puller" } } as KubeObject);
  // The token the kubelet would get for the pod's ServiceAccount, with the registry audience.
  const kc = new KubeConfig();
  kc.loadFromString(cluster.api.kubeconfig());
  const tr = await kc.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({ namespace: "default", name: "puller", body: { spec: { audiences: ["https://127.0.0.1:5000"], expirationSeconds: 600 } } });
  token = tr.status?.token as string;
});
afterAll(() => cluster.close());

const request = (extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ apiVersion: "credentialprovider.kubelet.k8s.io/v1", kind: "CredentialProviderRequest", image: "127.0.0.1:5000/team-a/app:v1", serviceAccountToken: token, serviceAccountAnnotations: {}, ...extra });

describe("npm run -s credential-provider", () => {
  it("prints only the CredentialProviderResponse on stdout", async () => {
    const { code, stdout, stderr } = await run(["--registry", "127.0.0.1:5000", "--username", "cluster-a"], request());
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout.endsWith("\n")).toBe(true);
    const response = JSON.parse(stdout);
    expect(response).toMatchObject({ apiVersion: "credentialprovider.kubelet.k8s.io/v1", kind: "CredentialProviderResponse", cacheKeyType: "Registry", auth: { "127.0.0.1:5000": { username: "cluster-a", password: token } } });
    expect(response.cacheDuration).toMatch(/^(8|9)m\d+s$/);
    await jwtVerify(response.auth["127.0.0.1:5000"].password, createLocalJWKSet(cluster.api.jwks()), { issuer: cluster.api.issuer, audience: "https://127.0.0.1:5000" });
  });

  it("reads the username from the environment or the ServiceAccount annotation", async () => {
    const fromEnv = await run(["--registry", "127.0.0.1:5000"], request(), { JWT_REGISTRY_AUTH_USERNAME: "env-provider" }, "bin");
    expect(JSON.parse(fromEnv.stdout).auth["127.0.0.1:5000"].username).toBe("env-provider");
    const fromAnnotation = await run(["--registry=127.0.0.1:5000", "--username", "flag"], request({ serviceAccountAnnotations: { "jwt-registry-auth.io/provider": "annotated" } }), {}, "bin");
    expect(JSON.parse(fromAnnotation.stdout).auth["127.0.0.1:5000"].username).toBe("annotated");
  });

  it("refuses an image on a registry it was not given, sending no token", async () => {
    const { code, stdout, stderr } = await run(["--registry", "registry.example.com", "--username", "u"], request({ image: "evil.example/team-a/app:v1" }), {}, "bin");
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toBe("jwt-registry-auth-credential-provider: image registry evil.example is not one this provider serves (registry.example.com); no credentials given\n");
    expect(stderr).not.toContain(token.slice(0, 16));
  });

  it.each([
    { what: "malformed JSON", via: "npm", stdin: `{"serviceAccountToken": "${"x".repeat(10)}`, args: ["--registry", "127.0.0.1:5000"], exitCode: 1, message: "request is not valid JSON" },
    { what: "a request without a token", via: "bin", stdin: JSON.stringify({ apiVersion: "credentialprovider.kubelet.k8s.io/v1", kind: "CredentialProviderRequest", image: "127.0.0.1:5000/a" }), args: ["--registry", "127.0.0.1:5000", "--username", "u"], exitCode: 1, message: "serviceAccountToken is missing" },
    { what: "no --registry", via: "bin", stdin: "{}", args: ["--username", "u"], exitCode: 2, message: "--registry is required" },
    { what: "an unknown flag", via: "bin", stdin: "{}", args: ["--nope"], exitCode: 2, message: "Unknown option '--nope'" },
  ] as const)("on $what: exit $exitCode, one line on stderr, nothing on stdout", async ({ via, stdin, args, exitCode, message }) => {
    const { code, stdout, stderr } = await run([...args], stdin, {}, via);
    expect(code).toBe(exitCode);
    expect(stdout).toBe("");
    expect(stderr.split("\n").filter((l) => l !== "")).toHaveLength(1);
    expect(stderr).toContain(message);
  });
});
