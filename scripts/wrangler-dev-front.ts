/**
 * `wrangler dev` for `npm start` and `npm run start:proxy`: workerd on a free
 * port of its own, and on the port users were told the TLS-refusing front
 * (testkit/src/tls-refusing-front.ts), the same one the e2e tests and the demo
 * use. With it `docker manifest inspect 127.0.0.1:PORT/…` and
 * `skopeo --tls-verify=false` reach the Worker as they reach Distribution,
 * while `curl http://127.0.0.1:PORT` is unchanged.
 *
 * Runs until wrangler exits; Ctrl-C (SIGINT/SIGTERM) is passed on to it.
 */
import { spawn } from "node:child_process";
import { freePort, startTlsRefusingFront } from "@jwt-registry-auth/testkit";

export interface DevServerOptions {
  readonly root: string;
  /** The port users use. */
  readonly port: number;
  /** wrangler dev's arguments other than --ip/--port. */
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** What the script is called in messages ("npm start"). */
  readonly name: string;
  readonly onExit?: () => void;
}

export async function runWranglerDevBehindFront(options: DevServerOptions): Promise<void> {
  const workerdPort = await freePort();
  const front = await startTlsRefusingFront({ port: options.port, targetPort: workerdPort }).catch((error: unknown) => {
    console.error(`${options.name}: cannot listen on 127.0.0.1:${options.port}: ${error instanceof Error ? error.message : String(error)}`);
    options.onExit?.();
    process.exit(1);
  });
  const dev = spawn(
    process.execPath,
    ["node_modules/wrangler/bin/wrangler.js", "dev", ...options.args, "--ip", "127.0.0.1", "--port", String(workerdPort), "--show-interactive-dev-session=false"],
    { cwd: options.root, env: options.env, stdio: ["inherit", "pipe", "pipe"] },
  );
  // wrangler announces workerd's own port; the one to use is the front's. Its lines arrive whole, so a plain replace does.
  const internal = `127.0.0.1:${workerdPort}`;
  const external = `127.0.0.1:${front.port}`;
  dev.stdout.on("data", (chunk: Buffer) => process.stdout.write(chunk.toString("utf8").replaceAll(internal, external)));
  dev.stderr.on("data", (chunk: Buffer) => process.stderr.write(chunk.toString("utf8").replaceAll(internal, external)));
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => dev.kill(signal));
  dev.on("exit", (code) => {
    void front.close().finally(() => {
      options.onExit?.();
      process.exit(code ?? 0);
    });
  });
}
