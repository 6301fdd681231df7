/**
 * `node install-node.mjs [flags]`: the node installer's entry point (the
 * DaemonSet in deploy/node-installer/ runs it from the controller image). Exit 2 on bad
 * flags, 1 when a source is missing or the config is refused (nothing written).
 * With --wait it then idles until SIGTERM, so the DaemonSet pod stays Ready.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { install, InstallError } from "./install.ts";

const HERE = dirname(fileURLToPath(import.meta.url));

export const INSTALL_USAGE = `Usage: node install-node.mjs [flags]

  --host-root DIR     where the host's / is mounted (default /host)
  --install-dir DIR   host dir for node + credential-provider.mjs (default /opt/jwt-registry-auth)
  --bin-dir DIR       host --image-credential-provider-bin-dir (default /etc/kubernetes/image-credential-provider)
  --config-file FILE  host --image-credential-provider-config (default /etc/jwt-registry-auth/credential-provider-config.yaml)
  --config-src FILE   the CredentialProviderConfig to install (default /config/credential-provider-config.yaml)
  --wait              after installing, stay running until SIGTERM
`;

function fail(message: string, code: number): void {
  process.stderr.write(`jwt-registry-auth-node-installer: ${message}\n`);
  process.exitCode = code;
}

async function main(argv: readonly string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        "host-root": { type: "string", default: "/host" },
        "install-dir": { type: "string", default: "/opt/jwt-registry-auth" },
        "bin-dir": { type: "string", default: "/etc/kubernetes/image-credential-provider" },
        "config-file": { type: "string", default: "/etc/jwt-registry-auth/credential-provider-config.yaml" },
        "config-src": { type: "string", default: "/config/credential-provider-config.yaml" },
        wait: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (error) {
    return fail(`${(error as Error).message}\n${INSTALL_USAGE}`, 2);
  }
  if (values.help) {
    process.stderr.write(INSTALL_USAGE);
    return;
  }
  try {
    const files = await install(
      { hostRoot: values["host-root"], installDir: values["install-dir"], binDir: values["bin-dir"], configFile: values["config-file"] },
      { node: process.execPath, bundle: join(HERE, "credential-provider.mjs"), config: values["config-src"] },
    );
    for (const file of files) process.stdout.write(`${file.changed ? "installed" : "unchanged"} ${file.path}\n`);
  } catch (error) {
    return fail(error instanceof InstallError ? error.message : `unexpected error: ${(error as Error).message}`, 1);
  }
  if (values.wait) {
    process.stdout.write("installed; the kubelet must run with the flags in docs/kubernetes.md. Waiting for SIGTERM.\n");
    const idle = setInterval(() => {}, 1 << 30);
    process.once("SIGTERM", () => clearInterval(idle));
  }
}

await main(process.argv.slice(2));
