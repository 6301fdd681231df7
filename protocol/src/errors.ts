/**
 * Distribution / OCI error bodies: `{"errors":[{"code","message","detail"}]}`.
 * Every error response of both Workers is built here, so each carries the same
 * content type and `Cache-Control: no-store`, and none can echo a credential:
 * messages are fixed strings chosen by the caller, never request input.
 */

export type RegistryErrorCode =
  | "UNAUTHORIZED"
  | "DENIED"
  | "NAME_INVALID"
  | "NAME_UNKNOWN"
  | "TAG_INVALID"
  | "DIGEST_INVALID"
  | "BLOB_UPLOAD_UNKNOWN"
  | "UNSUPPORTED"
  | "TOOMANYREQUESTS"
  | "UNAVAILABLE"
  | "UNKNOWN";

export interface RegistryError {
  readonly code: RegistryErrorCode;
  readonly message: string;
  readonly detail?: unknown;
}

export function errorBody(...errors: RegistryError[]): { errors: RegistryError[] } {
  return { errors };
}

export interface ErrorResponseInit {
  readonly detail?: unknown;
  readonly headers?: HeadersInit;
}

export function errorResponse(status: number, code: RegistryErrorCode, message: string, init: ErrorResponseInit = {}): Response {
  const headers = new Headers(init.headers);
  headers.set("Content-Type", "application/json; charset=utf-8");
  headers.set("Cache-Control", "no-store");
  const error: RegistryError = init.detail === undefined ? { code, message } : { code, message, detail: init.detail };
  return new Response(JSON.stringify(errorBody(error)), { status, headers });
}
