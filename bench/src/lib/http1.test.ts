import { describe, expect, it } from "vitest";
import { buildRequest, HttpParseError, ResponseParser } from "./http1.ts";

const bytes = (text: string): Buffer => Buffer.from(text, "latin1");

describe("buildRequest", () => {
  it("writes the request line, Host and headers", () => {
    const request = buildRequest("GET", new URL("http://127.0.0.1:8787/token?service=r&scope=a"), { Authorization: "Basic eDp5" }).toString("latin1");
    expect(request).toBe("GET /token?service=r&scope=a HTTP/1.1\r\nHost: 127.0.0.1:8787\r\nAuthorization: Basic eDp5\r\n\r\n");
  });

  it("refuses a header value that would split the request", () => {
    expect(() => buildRequest("GET", new URL("http://127.0.0.1/"), { X: "a\r\nEvil: 1" })).toThrow(HttpParseError);
  });
});

describe("ResponseParser", () => {
  it("ends a Content-Length response only after its last body byte, across chunks", () => {
    const parser = new ResponseParser();
    expect(parser.feed(bytes("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab"))).toEqual([]);
    expect(parser.feed(bytes("cde"))).toEqual([{ status: 200, bodyBytes: 5, close: false }]);
  });

  it("parses several pipelined responses from one chunk, including an empty body", () => {
    const parser = new ResponseParser();
    const done = parser.feed(bytes("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 401 Unauthorized\r\ncontent-length: 2\r\n\r\n{}"));
    expect(done.map((r) => r.status)).toEqual([200, 401]);
  });

  it("follows chunked encoding split anywhere, with a trailer", () => {
    const text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nX-Trailer: 1\r\n\r\n";
    for (let split = 1; split < text.length; split++) {
      const parser = new ResponseParser();
      const done = [...parser.feed(bytes(text.slice(0, split))), ...parser.feed(bytes(text.slice(split)))];
      expect(done).toEqual([{ status: 200, bodyBytes: 9, close: false }]);
    }
  });

  it("knows HEAD responses and 204s have no body, and reports Connection: close", () => {
    expect(new ResponseParser(true).feed(bytes("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"))).toEqual([{ status: 200, bodyBytes: 0, close: false }]);
    expect(new ResponseParser().feed(bytes("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"))).toEqual([{ status: 204, bodyBytes: 0, close: true }]);
  });

  it("rejects a response it can't delimit or read", () => {
    expect(() => new ResponseParser().feed(bytes("HTTP/1.1 200 OK\r\n\r\n"))).toThrow(/neither Content-Length nor chunked/);
    expect(() => new ResponseParser().feed(bytes("SPDY/3 200 OK\r\n\r\n"))).toThrow(/bad status line/);
    expect(() => new ResponseParser().feed(bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"))).toThrow(/bad chunk size/);
  });
});
