import { describe, expect, it } from "vitest";
import { acceptedAudiences } from "./audience.ts";

const A = "registry-a.example.com";
const B = "registry-b.example.com";

describe("acceptedAudiences", () => {
  it.each<[string, readonly string[], string, ReadonlySet<string> | undefined, string[]]>([
    ["no audiences: the service or its https URL", [], A, undefined, [A, `https://${A}`]],
    ["no service: nothing", [A], "", undefined, []],
    ["a listed service audience, for its service", [A, `https://${A}`], A, undefined, [A, `https://${A}`]],
    ["two services listed: only the requested one's", [A, B], B, undefined, [B]],
    ["two services listed, another requested: none", [A, `https://${B}`], "registry-c.example.com", undefined, []],
    ["host audiences with ports, an IP, a trailing slash", ["127.0.0.1:5000", "localhost:5000", "https://[::1]:5000", "https://r.example/"], "sigstore", undefined, []],
    ["a host audience is its own service", ["127.0.0.1:5000"], "127.0.0.1:5000", undefined, ["127.0.0.1:5000"]],
    ["GitHub's default audience names no registry: any service", ["https://github.com/acme"], A, undefined, ["https://github.com/acme"]],
    ["a service audience wins over one that names none", [A, "https://github.com/acme"], A, undefined, [A]],
    ["only the service-less ones for a service with none of its own", [A, "https://github.com/acme", "jwt-registry-auth"], B, undefined, ["https://github.com/acme", "jwt-registry-auth"]],
    ["a non-host service name, for itself", ["Docker registry", "other"], "Docker registry", undefined, ["Docker registry"]],
    ["non-host service names that ALLOWED_SERVICES knows: not for a third", ["Docker registry", "other"], "third", new Set(["Docker registry", "other", "third"]), []],
    ["the same without ALLOWED_SERVICES: they look like no service", ["Docker registry", "other"], "third", undefined, ["Docker registry", "other"]],
    ["an http origin names its host too", [`http://${A}`, "https://github.com/acme"], B, undefined, ["https://github.com/acme"]],
  ])("%s", (_label, configured, service, allowed, expected) => {
    expect(acceptedAudiences(configured, service, allowed)).toEqual(expected);
  });
});
