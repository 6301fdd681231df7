/**
 * `metav1.Status` bodies exactly as kube-apiserver writes them for failures:
 * clients (client-go, @kubernetes/client-node, kubectl) switch on `code` and
 * `reason`, and print `message`.
 */
export type StatusReason =
  | "BadRequest"
  | "Unauthorized"
  | "Forbidden"
  | "NotFound"
  | "AlreadyExists"
  | "Conflict"
  | "Invalid"
  | "MethodNotAllowed"
  | "UnsupportedMediaType"
  | "Expired"
  | "InternalError"
  | "ServiceUnavailable";

export interface StatusCause {
  readonly reason: string;
  readonly message: string;
  readonly field: string;
}

export interface Status {
  readonly kind: "Status";
  readonly apiVersion: "v1";
  readonly metadata: Record<string, never>;
  readonly status: "Failure" | "Success";
  readonly message?: string;
  readonly reason?: StatusReason;
  readonly details?: { name?: string; group?: string; kind?: string; uid?: string; causes?: readonly StatusCause[] };
  readonly code: number;
}

/** A failure the HTTP layer turns into a Status response. */
export class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: StatusReason,
    message: string,
    readonly details?: Status["details"],
  ) {
    super(message);
  }

  toStatus(): Status {
    return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: this.message, reason: this.reason, ...(this.details && { details: this.details }), code: this.code };
  }
}

/** `group` is "" for the core group; the apiserver names it `resource.group` in messages. */
function qualified(resource: string, group: string): string {
  return group === "" ? resource : `${resource}.${group}`;
}

export const notFound = (resource: string, group: string, name: string): StatusError =>
  new StatusError(404, "NotFound", `${qualified(resource, group)} "${name}" not found`, { name, ...(group !== "" && { group }), kind: resource });

export const alreadyExists = (resource: string, group: string, name: string): StatusError =>
  new StatusError(409, "AlreadyExists", `${qualified(resource, group)} "${name}" already exists`, { name, ...(group !== "" && { group }), kind: resource });

export const conflict = (resource: string, group: string, name: string): StatusError =>
  new StatusError(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${qualified(resource, group)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, ...(group !== "" && { group }), kind: resource },
  );

export const badRequest = (message: string): StatusError => new StatusError(400, "BadRequest", message);

/** 422 with one cause per field error, worded like apimachinery's field.Error. */
export function invalid(kind: string, group: string, name: string, causes: readonly StatusCause[]): StatusError {
  const summary = causes.map((c) => `${c.field}: ${c.message}`).join(", ");
  const list = causes.length > 1 ? `[${summary}]` : summary;
  return new StatusError(422, "Invalid", `${kind} "${name}" is invalid: ${list}`, { name, ...(group !== "" && { group }), kind, causes });
}

export const fieldInvalid = (field: string, value: unknown, detail: string): StatusCause => ({
  reason: "FieldValueInvalid",
  message: `Invalid value: ${JSON.stringify(value)}: ${detail}`,
  field,
});

export const fieldRequired = (field: string, detail: string): StatusCause => ({ reason: "FieldValueRequired", message: `Required value: ${detail}`, field });
