/**
 * One JSON object per line. Tokens never reach a log: callers log
 * `tokenSha256(token)`, and as a second line of defence any string that looks
 * like a JWT is replaced by its hash before the line is written.
 */
import type { LogLevel } from "./config.ts";
import { tokenSha256 } from "./token-digest.ts";

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

const ORDER: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };
const JWT = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+/g;

function scrub(value: unknown): unknown {
  if (typeof value === "string") return value.replace(JWT, (jwt) => `<jwt sha256:${tokenSha256(jwt)}>`);
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { message: scrub(value.message), ...(code !== undefined && { code }) };
  }
  if (Array.isArray(value)) return value.map(scrub);
  if (typeof value === "object" && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrub(v)]));
  return value;
}

export function createLogger(level: LogLevel, write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Logger {
  const emit = (at: LogLevel, msg: string, fields: Record<string, unknown> = {}): void => {
    if (ORDER[at] < ORDER[level]) return;
    write(JSON.stringify({ time: new Date().toISOString(), level: at, msg: scrub(msg), ...(scrub(fields) as Record<string, unknown>) }));
  };
  return {
    debug: (msg, fields) => emit("debug", msg, fields),
    info: (msg, fields) => emit("info", msg, fields),
    warn: (msg, fields) => emit("warn", msg, fields),
    error: (msg, fields) => emit("error", msg, fields),
  };
}
