import { describe, expect, it } from "vitest";
import type { V1Namespace, V1ServiceAccount } from "@kubernetes/client-node";
import { REGISTRIES_ANNOTATION } from "./annotations.ts";
import type { RegistryConfig } from "./config.ts";
import { namespaceInScope, optIn } from "./opt-in.ts";

const reg = (host: string): RegistryConfig => ({ host, provider: "kubernetes", audience: `https://${host}`, durationSeconds: 3600 });
const registries = [reg("a.example"), reg("b.example:5000")];
const sa = (value?: string): V1ServiceAccount => ({ metadata: { name: "app", namespace: "team", ...(value !== undefined && { annotations: { [REGISTRIES_ANNOTATION]: value } }) } });
const ns = (value?: string): V1Namespace => ({ metadata: { name: "team", ...(value !== undefined && { annotations: { [REGISTRIES_ANNOTATION]: value } }) } });

describe("optIn", () => {
  it("is nothing without an annotation", () => {
    expect(optIn(sa(), ns(), registries)).toEqual({ registries: [], unknown: [] });
    expect(optIn(sa(), undefined, registries)).toEqual({ registries: [], unknown: [] });
  });

  it("takes the ServiceAccount's hosts, case- and space-insensitively, and reports unknown ones", () => {
    expect(optIn(sa(" A.example , other.example"), undefined, registries)).toEqual({ registries: [registries[0]], unknown: ["other.example"] });
  });

  it("applies a namespace-wide setting to ServiceAccounts without their own", () => {
    expect(optIn(sa(), ns("b.example:5000"), registries).registries).toEqual([registries[1]]);
  });

  it("lets a ServiceAccount's own annotation override the namespace, an empty one opting out", () => {
    expect(optIn(sa("a.example"), ns("*"), registries).registries).toEqual([registries[0]]);
    expect(optIn(sa(""), ns("*"), registries).registries).toEqual([]);
  });

  it("reads * as every registry the controller serves", () => {
    expect(optIn(sa("*"), undefined, registries).registries).toEqual(registries);
  });
});

describe("namespaceInScope", () => {
  it("follows the configured scope", () => {
    expect(namespaceInScope({ kind: "all" }, "x", undefined)).toBe(true);
    expect(namespaceInScope({ kind: "list", names: ["x"] }, "x", undefined)).toBe(true);
    expect(namespaceInScope({ kind: "list", names: ["x"] }, "y", ns())).toBe(false);
    expect(namespaceInScope({ kind: "selector", selector: "a=b" }, "team", ns())).toBe(true);
    expect(namespaceInScope({ kind: "selector", selector: "a=b" }, "team", undefined)).toBe(false);
  });
});
