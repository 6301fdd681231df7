/**
 * Before any end-to-end test: the real registry and clients must be there.
 * Missing ones are apt-installed when possible; otherwise this fails naming the
 * Debian packages to install.
 */
import { ensureTools } from "@jwt-registry-auth/testkit";

export default async function setup(): Promise<void> {
  await ensureTools(["docker-registry", "skopeo", "docker"]);
}
