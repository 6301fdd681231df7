/**
 * The registry configuration (Distribution `config.yml`, `auth.token`) that
 * trusts tokens from this token server, as `keys generate` prints it.
 */

export interface RegistryConfigOptions {
  /** The token endpoint URL: the registry sends clients there. */
  readonly realm: string;
  /** `auth.token.service`: the audience the token server puts in tokens. */
  readonly service: string;
  /** `auth.token.issuer`: the token server's TOKEN_ISSUER. */
  readonly issuer: string;
  /** Absolute paths of the files `keys generate` wrote. */
  readonly certPath: string;
  readonly jwksPath: string;
}

export function registryConfigSnippet(options: RegistryConfigOptions): string {
  return [
    "auth:",
    "  token:",
    `    realm: ${options.realm}`,
    `    service: ${options.service}`,
    `    issuer: ${options.issuer}`,
    "    # Distribution 2.x and 3.x: tokens carry the certificate (x5c), checked against this bundle.",
    `    rootcertbundle: ${options.certPath}`,
    '    # Distribution 3.x with TOKEN_X5C="false" on the token server: trust the keys by kid instead.',
    `    # jwks: ${options.jwksPath}`,
    "",
  ].join("\n");
}
