export * from "./oidc-issuer.ts";
