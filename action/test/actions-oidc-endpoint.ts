/** Moved to the shared client package (the credential helper's tests use it too); kept here for e2e/action.test.ts. */
export * from "@jwt-registry-auth/client/test/actions-oidc-endpoint";
