/** Local stand-ins for the cloud endpoints the proxy's upstream modes call (docs/upstreams.md). */
export * from "./federation-verifier.ts";
export * from "./aws.ts";
export * from "./google-sts.ts";
export * from "./iam-credentials.ts";
export * from "./quay.ts";
export * from "./entra.ts";
export * from "./acr.ts";
