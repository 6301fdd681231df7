/**
 * The front of the local servers (`npm start`, `npm run start:proxy`, the
 * demo, the e2e tests): a loopback TCP listener in front of `wrangler dev` that
 * answers a TLS ClientHello the way Distribution (Go's net/http) does and passes
 * every other connection through to workerd byte for byte.
 *
 * Why: docker and skopeo try HTTPS first on a loopback ("insecure") registry and
 * fall back to plain HTTP when the TLS handshake fails. Distribution fails it at
 * once: its HTTP parser answers the ClientHello with a 400 and closes, which the
 * client's TLS stack reports as "first record does not look like a TLS
 * handshake" within milliseconds. workerd's HTTP parser instead waits for the
 * end of a header block that never comes, so docker gives up with
 * `TLS handshake timeout` after 10 s and skopeo falls back only after that wait.
 *
 * A first byte of 0x16 (a TLS handshake record) can't start an HTTP request, so
 * the check never touches plain HTTP. Nothing is parsed or rewritten: the
 * Worker sees exactly the client's bytes, `Host` included.
 */
import { connect, createServer, type AddressInfo, type Socket } from "node:net";

/** What Go's net/http server (Distribution 2.8.2) writes to a TLS ClientHello on its plain-HTTP port, measured, before it closes. */
export const GO_PLAIN_HTTP_TLS_ANSWER = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request";

const TLS_HANDSHAKE_RECORD = 0x16;

export interface TlsRefusingFrontOptions {
  /** The port clients use; 0 = one the OS picks. */
  readonly port: number;
  /** Where plain HTTP goes: `wrangler dev`'s own port on 127.0.0.1. */
  readonly targetPort: number;
}

export interface TlsRefusingFront {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  /** Stops listening and drops every open connection. */
  close(): Promise<void>;
}

function relay(client: Socket, targetPort: number, sockets: Set<Socket>): void {
  client.once("data", (first: Buffer) => {
    if (first[0] === TLS_HANDSHAKE_RECORD) {
      // Closed outright, as Go closes it, not half-closed waiting for the client's FIN.
      client.end(GO_PLAIN_HTTP_TLS_ANSWER, () => client.destroy());
      return;
    }
    // Half-open both ways: a client that shuts its write side after the request still gets the whole response.
    const upstream = connect({ port: targetPort, host: "127.0.0.1", allowHalfOpen: true });
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
    // pipe() ends the other side once one side ends, after its data is written; close covers a reset.
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => {
      if (!client.writableEnded) client.end();
    });
    upstream.write(first);
    client.pipe(upstream);
    upstream.pipe(client);
  });
}

/** Listens on 127.0.0.1 (`port` 0 = any free one); rejects when the port is taken. */
export async function startTlsRefusingFront(options: TlsRefusingFrontOptions): Promise<TlsRefusingFront> {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => client.destroy());
    relay(client, options.targetPort, sockets);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
