/** Free loopback ports for servers that need their port before they start. */
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";

/**
 * A port the OS just handed out on `host`. Another process can take it before
 * the caller binds it; the `start*` helpers retry with a new port when that happens.
 */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, host, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
