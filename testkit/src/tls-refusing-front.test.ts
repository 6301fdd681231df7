import { createServer as createHttpServer, type Server } from "node:http";
import { connect, createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GO_PLAIN_HTTP_TLS_ANSWER, startTlsRefusingFront, type TlsRefusingFront } from "./tls-refusing-front.ts";

/** Sends `bytes`, optionally half-closes, and collects everything until the server ends its side. */
function exchange(port: number, bytes: Buffer | string, options: { halfClose?: boolean } = {}): Promise<{ text: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const chunks: Buffer[] = [];
    const socket = connect({ port, host: "127.0.0.1", allowHalfOpen: true }, () => {
      socket.write(bytes);
      if (options.halfClose === true) socket.end();
    });
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("end", () => {
      resolve({ text: Buffer.concat(chunks).toString("latin1"), ms: Date.now() - started });
      socket.destroy();
    });
    setTimeout(() => {
      socket.destroy();
      reject(new Error("the server did not end the connection within 5 s"));
    }, 5000).unref();
  });
}

const listen = (server: Server | TcpServer): Promise<number> =>
  new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));

describe("startTlsRefusingFront", () => {
  let target: Server;
  let front: TlsRefusingFront;

  beforeAll(async () => {
    // Echoes what it received: method, path, Host and the body's length.
    target = createHttpServer((req, res) => {
      let length = 0;
      req.on("data", (chunk: Buffer) => (length += chunk.length));
      req.on("end", () => {
        res.setHeader("Connection", "close");
        res.end(JSON.stringify({ method: req.method, url: req.url, host: req.headers.host, length }));
      });
    });
    front = await startTlsRefusingFront({ port: 0, targetPort: await listen(target) });
  });

  afterAll(async () => {
    await front.close();
    await new Promise((resolve) => target.close(resolve));
  });

  it("answers a TLS ClientHello with Go's bytes and closes at once", async () => {
    // The first bytes of a real ClientHello: handshake record, TLS 1.0 record version, length, client_hello.
    const { text, ms } = await exchange(front.port, Buffer.from("16030100c8010000c40303", "hex"));
    expect(text).toBe(GO_PLAIN_HTTP_TLS_ANSWER);
    expect(ms).toBeLessThan(1000);
  });

  it("makes a real TLS client fail its handshake fast instead of timing out", async () => {
    const started = Date.now();
    const error = await new Promise<Error>((resolve) => {
      const socket = tlsConnect({ port: front.port, host: "127.0.0.1", rejectUnauthorized: false }, () => resolve(new Error("handshake succeeded")));
      socket.on("error", resolve);
    });
    expect(error.message).toMatch(/wrong version number|packet length too long|socket disconnected/i);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("passes plain HTTP through unchanged, Host included", async () => {
    const response = await fetch(`${front.url}/v2/acme/app/manifests/v1?x=1`, { method: "PUT", body: "hello" });
    expect(await response.json()).toEqual({ method: "PUT", url: "/v2/acme/app/manifests/v1?x=1", host: `127.0.0.1:${front.port}`, length: 5 });
  });

  it("streams a large body through intact", async () => {
    const body = Buffer.alloc(8 * 1024 * 1024, 7);
    const response = await fetch(`${front.url}/upload`, { method: "POST", body });
    expect(((await response.json()) as { length: number }).length).toBe(body.length);
  });

  it("a client that half-closes after its request still gets the whole response", async () => {
    const { text } = await exchange(front.port, `GET /half HTTP/1.1\r\nHost: 127.0.0.1:${front.port}\r\n\r\n`, { halfClose: true });
    expect(text).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(text).toContain('"url":"/half"');
  });

  it("refuses a port that is taken", async () => {
    const taken = createTcpServer();
    const port = await listen(taken);
    try {
      await expect(startTlsRefusingFront({ port, targetPort: port })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it("close() drops open connections and stops listening", async () => {
    const other = await startTlsRefusingFront({ port: 0, targetPort: (target.address() as AddressInfo).port });
    const open = connect(other.port, "127.0.0.1");
    await new Promise((resolve) => open.once("connect", resolve));
    const closed = new Promise((resolve) => open.once("close", resolve));
    await other.close();
    await closed;
    await expect(fetch(`${other.url}/`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
  });
});
