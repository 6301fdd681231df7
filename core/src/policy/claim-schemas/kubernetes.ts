/** Kubernetes service-account tokens (TokenRequest / projected volumes): a nested "kubernetes.io" map. testkit/src/oidc-issuer.ts kubernetesClaims has the shape. */
import type { ClaimSpecs } from "../claim-schema.ts";

const NAME_UID = { type: "map", fields: { name: "string", uid: "string" } } as const;

export const KUBERNETES_CLAIMS: ClaimSpecs = {
  "kubernetes.io": {
    type: "map",
    fields: {
      namespace: "string",
      serviceaccount: NAME_UID,
      pod: NAME_UID,
      node: NAME_UID,
      secret: NAME_UID,
      warnafter: "number",
    },
  },
};
