/**
 * URL → what is being asked for, with the apiserver's path grammar
 * (`/api/v1/namespaces/NS/RESOURCE/NAME/SUBRESOURCE`, `/apis/GROUP/VERSION/…`)
 * and its verb names (get, list, watch, create, update, patch, delete).
 */
import { RESOURCE_TYPES, type ResourceType } from "./resources.ts";
import { badRequest, StatusError } from "./status.ts";

export interface RequestInfo {
  readonly type: ResourceType;
  readonly verb: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly subresource?: string;
}

const notFoundPath = (): StatusError => new StatusError(404, "NotFound", "the server could not find the requested resource");

const SUBRESOURCES: Readonly<Record<string, readonly string[]>> = { serviceaccounts: ["token"] };

export function requestInfo(method: string, url: URL): RequestInfo {
  const parts = url.pathname.split("/").filter((p) => p !== "").map(decodeURIComponent);
  let group: string;
  let rest: string[];
  if (parts[0] === "api" && parts[1] === "v1") {
    group = "";
    rest = parts.slice(2);
  } else if (parts[0] === "apis" && parts.length >= 3) {
    group = parts[1] as string;
    rest = parts.slice(3);
  } else throw notFoundPath();
  const version = group === "" ? "v1" : (parts[2] as string);

  let namespace: string | undefined;
  let resource: string | undefined;
  let name: string | undefined;
  let subresource: string | undefined;
  if (rest[0] === "namespaces" && rest.length >= 3) {
    [, namespace, resource, name, subresource] = rest;
    if (rest.length > 5) throw notFoundPath();
  } else {
    [resource, name, subresource] = rest;
    if (rest.length > 3) throw notFoundPath();
  }
  const type = RESOURCE_TYPES.find((t) => t.group === group && t.version === version && t.resource === resource);
  if (!type) throw notFoundPath();
  if (type.namespaced === false && namespace !== undefined) throw notFoundPath();
  if (type.namespaced && namespace === undefined && name !== undefined) throw notFoundPath();
  if (subresource !== undefined && !(SUBRESOURCES[type.resource] ?? []).includes(subresource)) throw notFoundPath();

  const watch = url.searchParams.get("watch");
  const collection = name === undefined;
  let verb: string;
  switch (method) {
    case "GET":
      verb = collection ? (watch === "true" || watch === "1" ? "watch" : "list") : "get";
      break;
    case "POST":
      if (!collection && subresource === undefined) throw new StatusError(405, "MethodNotAllowed", `the server does not allow this method on the requested resource`);
      verb = "create";
      break;
    case "PUT":
      verb = "update";
      break;
    case "PATCH":
      verb = "patch";
      break;
    case "DELETE":
      verb = collection ? "deletecollection" : "delete";
      break;
    default:
      throw badRequest(`unsupported method ${method}`);
  }
  if (collection && (verb === "update" || verb === "patch")) throw new StatusError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
  if (subresource !== undefined && verb !== "create") throw new StatusError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
  return { type, verb, ...(namespace !== undefined && { namespace }), ...(name !== undefined && { name }), ...(subresource !== undefined && { subresource }) };
}
