/**
 * Blob transfers against a Distribution API (the registry itself or the proxy
 * in front of it), timed end to end: a streamed GET read to the last byte, and
 * a monolithic upload (POST, then PUT with the body streamed from disk).
 */
import { createReadStream, statSync } from "node:fs";
import { Readable } from "node:stream";

export interface Transfer {
  readonly bytes: number;
  readonly seconds: number;
  readonly mibPerSecond: number;
}

function transfer(bytes: number, started: number): Transfer {
  const seconds = (performance.now() - started) / 1000;
  return { bytes, seconds, mibPerSecond: bytes / 1024 / 1024 / seconds };
}

export async function pullBlob(base: string, repository: string, digest: string, headers: Record<string, string> = {}): Promise<Transfer> {
  const started = performance.now();
  const response = await fetch(`${base}/v2/${repository}/blobs/${digest}`, { headers });
  if (response.status !== 200 || response.body === null) throw new Error(`GET blob via ${base}: ${response.status} ${(await response.text()).slice(0, 200)}`);
  let bytes = 0;
  const reader = response.body.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) bytes += read.value.byteLength;
  return transfer(bytes, started);
}

export async function pushBlob(base: string, repository: string, digest: string, path: string, headers: Record<string, string> = {}): Promise<Transfer> {
  const started = performance.now();
  const size = statSync(path).size;
  const start = await fetch(`${base}/v2/${repository}/blobs/uploads/`, { method: "POST", headers });
  await start.body?.cancel();
  const location = start.headers.get("Location");
  if (start.status !== 202 || location === null) throw new Error(`POST upload via ${base}: ${start.status}`);
  const url = new URL(location, base);
  url.searchParams.set("digest", digest);
  const put = await fetch(url, {
    method: "PUT",
    headers: { ...headers, "Content-Type": "application/octet-stream", "Content-Length": String(size) },
    body: Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>,
    duplex: "half",
  } as RequestInit);
  const text = await put.text();
  if (put.status !== 201) throw new Error(`PUT upload via ${base}: ${put.status} ${text.slice(0, 200)}`);
  return transfer(size, started);
}
