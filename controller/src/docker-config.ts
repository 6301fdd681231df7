/**
 * The `.dockerconfigjson` payload of a `kubernetes.io/dockerconfigjson` Secret:
 * `auths.<host>` with the token server provider as username and the
 * service-account token as password, plus `auth` (base64 `user:password`),
 * which the kubelet and most clients read.
 */
export interface DockerAuth {
  readonly username: string;
  readonly password: string;
  readonly auth: string;
}

export interface DockerConfig {
  readonly auths: Readonly<Record<string, DockerAuth>>;
}

export function dockerConfig(host: string, username: string, password: string): DockerConfig {
  return { auths: { [host]: { username, password, auth: Buffer.from(`${username}:${password}`, "utf8").toString("base64") } } };
}

/** The entry for `host`, if the payload is a docker config that has a complete one. */
export function dockerAuthFor(payload: string, host: string): DockerAuth | undefined {
  try {
    const parsed: unknown = JSON.parse(payload);
    const entry = (parsed as { auths?: Record<string, Partial<DockerAuth>> }).auths?.[host];
    if (typeof entry?.username !== "string" || typeof entry.password !== "string" || entry.password === "") return undefined;
    return { username: entry.username, password: entry.password, auth: typeof entry.auth === "string" ? entry.auth : "" };
  } catch {
    return undefined;
  }
}
