/**
 * Just enough HTTP/1.1 for a keep-alive load generator: one request built once
 * and written many times, and an incremental parser that finds where each
 * response ends (Content-Length, chunked, or no body) without keeping bodies.
 */

export class HttpParseError extends Error {
  override readonly name = "HttpParseError";
}

/** The raw bytes of a GET/HEAD request for `url`, with `headers` (values must not hold CR/LF). */
export function buildRequest(method: "GET" | "HEAD", url: URL, headers: Readonly<Record<string, string>> = {}): Buffer {
  const lines = [`${method} ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`];
  for (const [name, value] of Object.entries(headers)) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || /[\r\n]/.test(value)) throw new HttpParseError(`invalid header ${JSON.stringify(name)}`);
    lines.push(`${name}: ${value}`);
  }
  return Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
}

export interface ParsedResponse {
  readonly status: number;
  readonly bodyBytes: number;
  /** The server said `Connection: close`: the socket can't carry another request. */
  readonly close: boolean;
}

type State =
  | { readonly kind: "head" }
  | { readonly kind: "length"; remaining: number; readonly response: ParsedResponse }
  | { readonly kind: "chunk-size"; readonly response: { status: number; bodyBytes: number; close: boolean } }
  | { readonly kind: "chunk-data"; remaining: number; readonly response: { status: number; bodyBytes: number; close: boolean } }
  | { readonly kind: "trailer"; readonly response: ParsedResponse };

const CRLF = Buffer.from("\r\n");
const HEAD_END = Buffer.from("\r\n\r\n");
/** A response head bigger than this is not something our Workers send. */
const MAX_HEAD_BYTES = 64 * 1024;

/** Feeds bytes from one connection; returns the responses completed by them. */
export class ResponseParser {
  private pending: Buffer = Buffer.alloc(0);
  private state: State = { kind: "head" };

  /** @param headRequests the requests are HEAD: responses have no body whatever their headers say. */
  constructor(private readonly headRequests = false) {}

  feed(chunk: Buffer): ParsedResponse[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const done: ParsedResponse[] = [];
    for (;;) {
      const finished = this.step();
      if (finished === "more") break;
      if (finished !== "continue") done.push(finished);
    }
    return done;
  }

  /** Advances by one state; "more" = needs more bytes. */
  private step(): ParsedResponse | "more" | "continue" {
    const state = this.state;
    switch (state.kind) {
      case "head": {
        const end = this.pending.indexOf(HEAD_END);
        if (end < 0) {
          if (this.pending.length > MAX_HEAD_BYTES) throw new HttpParseError("response head too large");
          return "more";
        }
        const head = this.pending.subarray(0, end).toString("latin1");
        this.pending = this.pending.subarray(end + HEAD_END.length);
        return this.startBody(head);
      }
      case "length": {
        const take = Math.min(state.remaining, this.pending.length);
        this.pending = this.pending.subarray(take);
        state.remaining -= take;
        if (state.remaining > 0) return "more";
        this.state = { kind: "head" };
        return state.response;
      }
      case "chunk-size": {
        const end = this.pending.indexOf(CRLF);
        if (end < 0) return "more";
        const size = Number.parseInt(this.pending.subarray(0, end).toString("latin1").split(";")[0] as string, 16);
        if (!Number.isInteger(size) || size < 0) throw new HttpParseError("bad chunk size");
        this.pending = this.pending.subarray(end + CRLF.length);
        this.state = size === 0 ? { kind: "trailer", response: state.response } : { kind: "chunk-data", remaining: size + CRLF.length, response: state.response };
        state.response.bodyBytes += size;
        return "continue";
      }
      case "chunk-data": {
        const take = Math.min(state.remaining, this.pending.length);
        this.pending = this.pending.subarray(take);
        state.remaining -= take;
        if (state.remaining > 0) return "more";
        this.state = { kind: "chunk-size", response: state.response };
        return "continue";
      }
      case "trailer": {
        const end = this.pending.indexOf(CRLF);
        if (end < 0) return "more";
        this.pending = this.pending.subarray(end + CRLF.length);
        if (end > 0) return "continue";
        this.state = { kind: "head" };
        return state.response;
      }
    }
  }

  private startBody(head: string): ParsedResponse | "continue" {
    const [statusLine = "", ...headerLines] = head.split("\r\n");
    const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
    if (!match) throw new HttpParseError(`bad status line ${JSON.stringify(statusLine.slice(0, 40))}`);
    const status = Number(match[1]);
    const headers = new Map<string, string>();
    for (const line of headerLines) {
      const colon = line.indexOf(":");
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const close = /(^|,)\s*close\s*(,|$)/i.test(headers.get("connection") ?? "");
    if (this.headRequests || status === 204 || status === 304 || (status >= 100 && status < 200)) return { status, bodyBytes: 0, close };
    if (/chunked/i.test(headers.get("transfer-encoding") ?? "")) {
      this.state = { kind: "chunk-size", response: { status, bodyBytes: 0, close } };
      return "continue";
    }
    const length = headers.get("content-length");
    if (length === undefined) throw new HttpParseError("response has neither Content-Length nor chunked encoding");
    const bytes = Number(length);
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new HttpParseError("bad Content-Length");
    const response = { status, bodyBytes: bytes, close };
    if (bytes === 0) return response;
    this.state = { kind: "length", remaining: bytes, response };
    return "continue";
  }
}
