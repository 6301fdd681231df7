/**
 * A cloud registry serves its token endpoints and the registry API on one
 * origin (quay.io, <name>.azurecr.io): the stand-ins answer their own paths
 * and forward the rest, unchanged and streamed, to a real Distribution.
 */
import { request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";

export function forwardTo(registryUrl: string): (request: IncomingMessage, response: ServerResponse) => void {
  const registry = new URL(registryUrl);
  return (request, response) => {
    const upstream = httpRequest({ host: registry.hostname, port: registry.port, method: request.method, path: request.url, headers: request.headers }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    upstream.on("error", () => {
      if (!response.headersSent) response.writeHead(502).end();
      else response.destroy();
    });
    request.pipe(upstream);
  };
}
