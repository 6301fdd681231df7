export * from "./scope.ts";
export * from "./names.ts";
export * from "./www-authenticate.ts";
export * from "./errors.ts";
export * from "./registry-token.ts";
export * from "./access.ts";
export * from "./sha256.ts";
export * from "./setting-error.ts";
