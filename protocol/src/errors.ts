/**
 * Distribution / OCI error bodies: `{"errors":[{"code","message","detail"}]}`.
 * Every error response of both Workers is built here, so each carries the same
 * content type and `Cache-Control: no-store`, and none can echo a credential:
 * messages are fixed strings chosen by the caller, never request input.
 *
 * The error policy both Workers follow (README, "Security"): the wire gets a
 * Distribution `code`, a fixed `message`, and a `detail` that is always one
 * object, `{reason, ...}`, where `reason` is a stable snake_case code a client
 * can switch on. The full reason (which check failed and why, which setting
 * is wrong and how) goes only to the operator's log line.
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

/** One entry of the access a request needs, as the challenge's `scope` names it. */
export interface AccessDetail {
  readonly type: string;
  readonly name: string;
  readonly actions: readonly string[];
}

/**
 * The one shape of `detail` in both Workers. `reason` is a stable snake_case
 * code; the other members are fixed fields, each with one meaning everywhere,
 * and none ever holds a credential or a setting's value.
 */
export interface ErrorDetail {
  readonly reason: string;
  /** The setting that is missing or invalid (its name only, never its value). */
  readonly setting?: string;
  /** The access the request needs (Distribution puts it in `detail` of its 401s). */
  readonly access?: readonly AccessDetail[];
  /** The upstream registry's status, when the proxy's failure is the upstream's answer. */
  readonly upstreamStatus?: number;
  /** The server's id for this request (also its `X-Request-Id` header and the log line's `requestId`): what an operator greps for. */
  readonly requestId?: string;
}

export interface RegistryError {
  readonly code: RegistryErrorCode;
  readonly message: string;
  readonly detail?: ErrorDetail;
}

export function errorBody(...errors: RegistryError[]): { errors: RegistryError[] } {
  return { errors };
}

export interface ErrorResponseInit {
  /** Required: every error either Worker sends carries its stable code. */
  readonly detail: ErrorDetail;
  readonly headers?: HeadersInit;
  /** The server's id for this request: stamped into `detail.requestId` and the `X-Request-Id` header, so a user can quote it to an operator. */
  readonly requestId?: string;
}

export function errorResponse(status: number, code: RegistryErrorCode, message: string, init: ErrorResponseInit): Response {
  const headers = new Headers(init.headers);
  headers.set("Content-Type", "application/json; charset=utf-8");
  headers.set("Cache-Control", "no-store");
  if (init.requestId !== undefined) headers.set("X-Request-Id", init.requestId);
  const detail = init.requestId === undefined ? init.detail : { ...init.detail, requestId: init.requestId };
  return new Response(JSON.stringify(errorBody({ code, message, detail })), { status, headers });
}

/** Who answers: the builders below name it so an operator knows which Worker's log to read. */
export type ServerName = "token server" | "registry proxy";

/** The `reason`s every Worker can send, besides its own. */
export const MISCONFIGURED_REASON = "misconfigured";
export const INTERNAL_REASON = "internal";

/**
 * The 500 of a Worker whose settings are broken: it names the setting, never
 * its value nor what is wrong with it (that can quote the value, or describe a
 * secret such as the signing key); the caller logs the full SettingError.
 */
export function misconfiguredResponse(server: ServerName, setting: string, init: Omit<ErrorResponseInit, "detail"> = {}): Response {
  return errorResponse(500, "UNKNOWN", `${server} misconfigured: setting ${setting} is missing or invalid (the ${server}'s log says why)`, {
    ...init,
    detail: { reason: MISCONFIGURED_REASON, setting },
  });
}

/** The 500 of an unexpected failure: a fixed message; the caller logs what failed, without credentials. */
export function internalErrorResponse(server: ServerName, init: Omit<ErrorResponseInit, "detail"> = {}): Response {
  return errorResponse(500, "UNKNOWN", `internal error in the ${server}`, { ...init, detail: { reason: INTERNAL_REASON } });
}
