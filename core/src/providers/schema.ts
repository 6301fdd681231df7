/**
 * JSON Schema of the providers config file, for editors and CI linting.
 * `docs/providers.schema.json` is this object printed by
 * `npm run cli -- policy schema` (cli/src/main.test.ts keeps the two in
 * sync; schema.test.ts keeps the schema's keys equal to the parser's). The parser (config.ts) stays the authority:
 * it also checks what a schema can't (CEL, PEM, issuer/keys combinations).
 */
import { MAX_CONDITION_LENGTH } from "../policy/static-check.ts";
import { MAX_AUDIENCES, PROVIDER_NAME_PATTERN } from "./validate.ts";

const condition = (what: string) => ({
  type: "object",
  additionalProperties: false,
  properties: {
    condition: { type: "string", maxLength: MAX_CONDITION_LENGTH, description: `CEL expression that must evaluate to a bool; ${what}` },
  },
});

const url = { type: "string", pattern: "^https?://" };
const GO_DURATION = "^([0-9]*\\.?[0-9]+(ns|us|µs|μs|ms|s|m|h))+$";

export const providersConfigSchema = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: "https://github.com/jwt-registry-auth/jwt-registry-auth/docs/providers.schema.json",
  title: "jwt-registry-auth providers config",
  type: "object",
  additionalProperties: false,
  required: ["providers"],
  properties: {
    providers: {
      type: "array",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["name"],
        properties: {
          name: { type: "string", pattern: PROVIDER_NAME_PATTERN.source, description: "The Basic-auth username clients log in with." },
          description: { type: "string" },
          issuer: { ...url, description: "Expected iss. Required with staticKeys or jwks; alone, discovery is read at the issuer." },
          oidcDiscoveryURL: { ...url, description: "The issuer URL (the PoC's name); discovery is at <url>/.well-known/openid-configuration." },
          staticKeys: {
            type: "array",
            minItems: 1,
            items: {
              type: "object",
              additionalProperties: false,
              required: ["key"],
              properties: { key: { type: "string", description: "PEM public key (SPKI) or certificate." } },
            },
          },
          jwks: {
            type: "object",
            additionalProperties: false,
            required: ["keys"],
            properties: { keys: { type: "array", minItems: 1, items: { type: "object", required: ["kty"] } } },
          },
          audiences: {
            type: "array",
            minItems: 1,
            maxItems: MAX_AUDIENCES,
            items: { type: "string", minLength: 1 },
            description: "Accepted aud values; default: the requested service or https:// + service.",
          },
          authn: condition("sees service and claims."),
          authz: condition("sees service, claims and scope (type, name, action, class); evaluated per action."),
          maxTokenLifetime: {
            type: "string",
            pattern: GO_DURATION,
            description: "Longest accepted workload-token lifetime, exp - iat (exp - now without iat); Go duration from 1m to 8784h, default 24h.",
          },
          sharedIssuer: {
            enum: ["unpinned-acknowledged"],
            description:
              "Only for a shared issuer (GitHub Actions, GitLab.com, Buildkite, HCP Terraform, …) whose authn deliberately pins no owner id: turns that error into a warning, listed in /healthz. See docs/policy.md, Shared issuers.",
          },
          rateLimit: {
            enum: ["off", "default", "strict"],
            description:
              "Token-issuance rate limit, per subject and provider-wide, through the token server's rate-limiting bindings (limits in wrangler.toml): default, strict (tighter), or off. See docs/policy.md, Abuse limits.",
          },
          refresh: {
            description: "Refresh tokens: false for none, or a lifetime (Go duration, default 1h).",
            oneOf: [
              { type: "boolean" },
              {
                type: "object",
                additionalProperties: false,
                properties: { lifetime: { type: "string", pattern: GO_DURATION } },
              },
            ],
          },
        },
        oneOf: [{ required: ["oidcDiscoveryURL"] }, { required: ["staticKeys", "issuer"] }, { required: ["jwks", "issuer"] }, { required: ["issuer"], not: { anyOf: [{ required: ["staticKeys"] }, { required: ["jwks"] }, { required: ["oidcDiscoveryURL"] }] } }],
      },
    },
    server: { type: "object", description: "The PoC's server block: accepted and ignored." },
    token: { type: "object", description: "The PoC's token block: accepted and ignored." },
  },
} as const;

/** The schema as the committed file holds it. */
export function providersConfigSchemaJson(): string {
  return `${JSON.stringify(providersConfigSchema, null, 2)}\n`;
}
