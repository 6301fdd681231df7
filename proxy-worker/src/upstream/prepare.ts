/** The upstream side of a settings read: the authorizer `forward` uses and the proxy's issuer, if any. */
import type { ProxySettings } from "../settings.ts";
import { upstreamAuth, type UpstreamAuthorizer } from "../upstream-auth.ts";
import { federationIssuer, type FederationIssuer } from "./federation.ts";
import { createMintedAuth } from "./minted-auth.ts";

export interface PreparedUpstream {
  readonly auth: UpstreamAuthorizer;
  readonly issuer?: FederationIssuer;
}

export function prepareUpstream(settings: ProxySettings): PreparedUpstream {
  const issuer = settings.federation && federationIssuer(settings.federation);
  const auth =
    settings.upstreamAuth.kind === "minted"
      ? createMintedAuth(settings.upstreamAuth.create(), issuer)
      : upstreamAuth(settings.upstream, settings.credentials, settings.allowInsecureRealm);
  return { auth, ...(issuer && { issuer }) };
}
