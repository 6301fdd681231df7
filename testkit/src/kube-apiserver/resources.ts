/**
 * The resource types the stand-in serves, with the validation kube-apiserver
 * applies to them (names, labels, secret payloads, owner references), so a
 * client that writes something a real cluster would reject is rejected here too.
 */
import { fieldInvalid, fieldRequired, type StatusCause } from "./status.ts";

export interface OwnerReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly controller?: boolean;
  readonly blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid: string;
  resourceVersion: string;
  creationTimestamp: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

export interface ResourceType {
  /** "" for the core group. */
  readonly group: string;
  readonly version: string;
  /** Plural, as in URLs and RBAC rules. */
  readonly resource: string;
  readonly kind: string;
  readonly namespaced: boolean;
  /** Normalises a body before validation (e.g. Secret `stringData` → `data`). */
  readonly prepare?: (obj: KubeObject) => void;
  /** Field errors beyond the common metadata checks. */
  readonly validate?: (obj: KubeObject) => StatusCause[];
  /** Selectable fields besides metadata.name / metadata.namespace. */
  readonly fields?: (obj: KubeObject) => Record<string, string>;
}

export const apiVersionOf = (type: ResourceType): string => (type.group === "" ? type.version : `${type.group}/${type.version}`);

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;

export function dnsSubdomainErrors(field: string, value: string): StatusCause[] {
  if (value.length > 253) return [fieldInvalid(field, value, "must be no more than 253 characters")];
  if (!DNS1123_SUBDOMAIN.test(value))
    return [
      fieldInvalid(
        field,
        value,
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
      ),
    ];
  return [];
}

function dnsLabelErrors(field: string, value: string): StatusCause[] {
  if (value.length > 63) return [fieldInvalid(field, value, "must be no more than 63 characters")];
  if (!DNS1123_LABEL.test(value)) return [fieldInvalid(field, value, "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'")];
  return [];
}

function qualifiedKeyErrors(field: string, key: string): StatusCause[] {
  const slash = key.lastIndexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const errors = prefix !== undefined ? dnsSubdomainErrors(field, prefix) : [];
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(name)) errors.push(fieldInvalid(field, key, "name part must consist of alphanumeric characters, '-', '_' or '.', and be at most 63 characters"));
  return errors;
}

function stringMapErrors(field: string, map: unknown, checkValue?: (key: string, value: string) => StatusCause[]): StatusCause[] {
  if (map === undefined) return [];
  if (typeof map !== "object" || map === null || Array.isArray(map)) return [fieldInvalid(field, map, "must be a map of strings")];
  const errors: StatusCause[] = [];
  for (const [key, value] of Object.entries(map)) {
    errors.push(...qualifiedKeyErrors(field, key));
    if (typeof value !== "string") errors.push(fieldInvalid(`${field}[${key}]`, value, "must be a string"));
    else if (checkValue) errors.push(...checkValue(key, value));
  }
  return errors;
}

/** The checks every object's metadata gets. */
export function metadataErrors(type: ResourceType, obj: KubeObject): StatusCause[] {
  const meta = obj.metadata;
  const errors: StatusCause[] = [];
  if (typeof meta.name !== "string" || meta.name === "") errors.push(fieldRequired("metadata.name", "name or generateName is required"));
  else errors.push(...(type.resource === "namespaces" ? dnsLabelErrors("metadata.name", meta.name) : dnsSubdomainErrors("metadata.name", meta.name)));
  errors.push(
    ...stringMapErrors("metadata.labels", meta.labels, (key, value) =>
      value.length > 63 || !LABEL_VALUE.test(value) ? [fieldInvalid(`metadata.labels[${key}]`, value, "a valid label must be 63 characters or less and consist of alphanumerics, '-', '_' or '.'")] : [],
    ),
  );
  errors.push(...stringMapErrors("metadata.annotations", meta.annotations));
  if (meta.annotations && JSON.stringify(meta.annotations).length > 256 * 1024) errors.push(fieldInvalid("metadata.annotations", "", "Too long: must have at most 262144 bytes"));
  const owners = meta.ownerReferences;
  if (owners !== undefined) {
    if (!Array.isArray(owners)) errors.push(fieldInvalid("metadata.ownerReferences", owners, "must be a list"));
    else {
      owners.forEach((o: Partial<OwnerReference>, i) => {
        for (const key of ["apiVersion", "kind", "name", "uid"] as const) {
          if (typeof o[key] !== "string" || o[key] === "") errors.push(fieldRequired(`metadata.ownerReferences[${i}].${key}`, `${key} must not be empty`));
        }
      });
      if (owners.filter((o: OwnerReference) => o.controller === true).length > 1) errors.push(fieldInvalid("metadata.ownerReferences", owners, "Only one reference can have Controller set to true"));
    }
  }
  return errors;
}

function namedRefErrors(field: string, list: unknown): StatusCause[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) return [fieldInvalid(field, list, "must be a list")];
  return list.flatMap((entry: unknown, i) => (typeof entry === "object" && entry !== null && typeof (entry as { name?: unknown }).name === "string" ? [] : [fieldRequired(`${field}[${i}].name`, "name is required")]));
}

export const NAMESPACES: ResourceType = { group: "", version: "v1", resource: "namespaces", kind: "Namespace", namespaced: false };

export const SERVICE_ACCOUNTS: ResourceType = {
  group: "",
  version: "v1",
  resource: "serviceaccounts",
  kind: "ServiceAccount",
  namespaced: true,
  validate: (obj) => [...namedRefErrors("imagePullSecrets", obj["imagePullSecrets"]), ...namedRefErrors("secrets", obj["secrets"])],
};

const DOCKER_CONFIG_JSON = "kubernetes.io/dockerconfigjson";

export const SECRETS: ResourceType = {
  group: "",
  version: "v1",
  resource: "secrets",
  kind: "Secret",
  namespaced: true,
  prepare: (obj) => {
    // The apiserver folds write-only stringData into data (stringData wins) and never stores it.
    const stringData = obj["stringData"];
    if (typeof stringData === "object" && stringData !== null) {
      const data = { ...((obj["data"] as Record<string, string> | undefined) ?? {}) };
      for (const [key, value] of Object.entries(stringData)) data[key] = Buffer.from(String(value), "utf8").toString("base64");
      obj["data"] = data;
    }
    delete obj["stringData"];
    if (obj["type"] === undefined) obj["type"] = "Opaque";
  },
  validate: (obj) => {
    const errors: StatusCause[] = [];
    const data = (obj["data"] ?? {}) as Record<string, unknown>;
    let size = 0;
    for (const [key, value] of Object.entries(data)) {
      if (!SECRET_KEY.test(key)) errors.push(fieldInvalid(`data[${key}]`, key, "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"));
      if (typeof value !== "string" || !BASE64.test(value)) errors.push(fieldInvalid(`data[${key}]`, "<secret contents redacted>", "must be base64-encoded"));
      else size += Buffer.from(value, "base64").length;
    }
    if (size > 1024 * 1024) errors.push(fieldInvalid("data", "", "Too long: must have at most 1048576 bytes"));
    if (obj["type"] === DOCKER_CONFIG_JSON) {
      const payload = data[".dockerconfigjson"];
      if (typeof payload !== "string") errors.push(fieldRequired("data[.dockerconfigjson]", ""));
      else {
        try {
          JSON.parse(Buffer.from(payload, "base64").toString("utf8"));
        } catch (error) {
          errors.push(fieldInvalid("data[.dockerconfigjson]", "<secret contents redacted>", (error as Error).message));
        }
      }
    }
    return errors;
  },
  fields: (obj) => ({ type: String(obj["type"] ?? "") }),
};

export const LEASES: ResourceType = {
  group: "coordination.k8s.io",
  version: "v1",
  resource: "leases",
  kind: "Lease",
  namespaced: true,
  validate: (obj) => {
    const spec = (obj["spec"] ?? {}) as Record<string, unknown>;
    const errors: StatusCause[] = [];
    const duration = spec["leaseDurationSeconds"];
    if (duration !== undefined && duration !== null && (!Number.isInteger(duration) || (duration as number) <= 0)) {
      errors.push(fieldInvalid("spec.leaseDurationSeconds", duration, "must be greater than 0"));
    }
    // metav1.MicroTime is parsed with Go's RFC3339Micro layout: exactly six fractional digits.
    for (const field of ["acquireTime", "renewTime"]) {
      const value = spec[field];
      if (value !== undefined && value !== null && (typeof value !== "string" || !MICRO_TIME.test(value))) {
        errors.push(fieldInvalid(`spec.${field}`, value, 'parsing time as "2006-01-02T15:04:05.000000Z07:00"'));
      }
    }
    return errors;
  },
};

export const RESOURCE_TYPES: readonly ResourceType[] = [NAMESPACES, SERVICE_ACCOUNTS, SECRETS, LEASES];
