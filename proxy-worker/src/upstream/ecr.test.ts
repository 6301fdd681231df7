/**
 * The ecr source inside workerd, against answers shaped as AWS documents them
 * (STS query-API XML, ECR JSON 1.1). The stand-ins that verify what the proxy
 * sends (JWT via discovery, SigV4 recomputed) run in e2e/upstream-ecr.test.ts.
 */
import { describe, expect, it } from "vitest";
import type { MintContext } from "./credential-source.ts";
import { AWS_FEDERATION_AUDIENCE, ecrSource, xmlText, type EcrSettings } from "./ecr.ts";

const STS_OK = `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>proxy-prod</SubjectFromWebIdentityToken>
    <Audience>sts.amazonaws.com</Audience>
    <Credentials>
      <SessionToken>AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE</SessionToken>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      <Expiration>2014-10-24T23:00:23Z</Expiration>
      <AccessKeyId>ASgeIAIOSFODNN7EXAMPLE</AccessKeyId>
    </Credentials>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>`;
const STS_DENIED = `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>AccessDenied</Code><Message>Not authorized to perform sts:AssumeRoleWithWebIdentity</Message></Error>
  <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>
</ErrorResponse>`;
const TOKEN = btoa("AWS:the-password");

const KEYLESS: EcrSettings = {
  region: "eu-west-1",
  ecrEndpoint: new URL("https://api.ecr.eu-west-1.amazonaws.com/"),
  identity: { kind: "keyless", roleArn: "arn:aws:iam::123456789012:role/proxy", stsEndpoint: new URL("https://sts.eu-west-1.amazonaws.com/"), sessionName: "proxy-prod" },
};

function context(answers: Record<string, () => Response>, seen: { url: string; headers: Headers; body: string }[]): MintContext {
  return {
    now: () => Date.UTC(2026, 0, 1),
    timeoutMs: 1000,
    federationToken: async (audience) => `federation-jwt-for-${audience}`,
    fetch: async (input, init) => {
      const url = String(input);
      seen.push({ url, headers: new Headers(init?.headers), body: String(init?.body ?? "") });
      const answer = answers[new URL(url).hostname];
      if (!answer) throw new TypeError("unreachable");
      return answer();
    },
  };
}

describe("ecr source", () => {
  it("keyless: AssumeRoleWithWebIdentity with the federation JWT, then GetAuthorizationToken signed with the temporary keys", async () => {
    const seen: { url: string; headers: Headers; body: string }[] = [];
    const expiresAt = Date.UTC(2026, 0, 1, 12) / 1000;
    const ctx = context(
      {
        "sts.eu-west-1.amazonaws.com": () => new Response(STS_OK, { headers: { "Content-Type": "text/xml" } }),
        "api.ecr.eu-west-1.amazonaws.com": () => Response.json({ authorizationData: [{ authorizationToken: TOKEN, expiresAt, proxyEndpoint: "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com" }] }),
      },
      seen,
    );
    expect(await ecrSource(KEYLESS).mint(ctx, [])).toEqual({ authorization: `Basic ${TOKEN}`, expiresAt: expiresAt * 1000 });
    const [sts, ecr] = seen;
    const form = new URLSearchParams(sts?.body);
    expect(Object.fromEntries(form)).toMatchObject({ Action: "AssumeRoleWithWebIdentity", Version: "2011-06-15", RoleArn: KEYLESS.identity.kind === "keyless" ? KEYLESS.identity.roleArn : "", RoleSessionName: "proxy-prod", WebIdentityToken: `federation-jwt-for-${AWS_FEDERATION_AUDIENCE}` });
    expect(sts?.headers.get("Authorization")).toBeNull();
    expect(ecr?.headers.get("X-Amz-Target")).toBe("AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken");
    expect(ecr?.headers.get("Content-Type")).toBe("application/x-amz-json-1.1");
    expect(ecr?.headers.get("X-Amz-Security-Token")).toBe("AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE");
    expect(ecr?.headers.get("Authorization")).toMatch(/^AWS4-HMAC-SHA256 Credential=ASgeIAIOSFODNN7EXAMPLE\/20260101\/eu-west-1\/ecr\/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature=[0-9a-f]{64}$/);
    expect(ecr?.body).toBe("{}");
  });

  it("names the step and AWS's error code, never the message or a credential", async () => {
    const seen: { url: string; headers: Headers; body: string }[] = [];
    await expect(ecrSource(KEYLESS).mint(context({ "sts.eu-west-1.amazonaws.com": () => new Response(STS_DENIED, { status: 403 }) }, seen), [])).rejects.toMatchObject({
      status: 502,
      message: "STS AssumeRoleWithWebIdentity refused: AccessDenied",
    });
    const ecrDenied = context(
      {
        "sts.eu-west-1.amazonaws.com": () => new Response(STS_OK),
        "api.ecr.eu-west-1.amazonaws.com": () => Response.json({ __type: "com.amazonaws.ecr#AccessDeniedException", message: "User: arn:aws:sts::1:assumed-role/x is not authorized" }, { status: 400 }),
      },
      seen,
    );
    await expect(ecrSource(KEYLESS).mint(ecrDenied, [])).rejects.toMatchObject({ status: 502, message: "ECR GetAuthorizationToken refused: AccessDenied" });
    const throttled = context({ "sts.eu-west-1.amazonaws.com": () => new Response("<ErrorResponse><Error><Code>Throttling</Code></Error></ErrorResponse>", { status: 400 }) }, seen);
    await expect(ecrSource(KEYLESS).mint(throttled, [])).rejects.toMatchObject({ message: "STS AssumeRoleWithWebIdentity refused: Throttling" });
    const unavailable = context({ "sts.eu-west-1.amazonaws.com": () => new Response("", { status: 503 }) }, seen);
    await expect(ecrSource(KEYLESS).mint(unavailable, [])).rejects.toMatchObject({ status: 503, message: "STS AssumeRoleWithWebIdentity refused: HTTP 503" });
    await expect(ecrSource(KEYLESS).mint(context({}, seen), [])).rejects.toMatchObject({ status: 502, message: "STS AssumeRoleWithWebIdentity could not be reached" });
  });

  it("refuses answers without credentials or token", async () => {
    const seen: { url: string; headers: Headers; body: string }[] = [];
    await expect(ecrSource(KEYLESS).mint(context({ "sts.eu-west-1.amazonaws.com": () => new Response("<AssumeRoleWithWebIdentityResponse/>") }, seen), [])).rejects.toMatchObject({ message: "STS AssumeRoleWithWebIdentity answered without credentials" });
    const keyed: EcrSettings = { ...KEYLESS, identity: { kind: "keyed", credentials: { accessKeyId: "AKID", secretAccessKey: "s" } } };
    await expect(ecrSource(keyed).mint(context({ "api.ecr.eu-west-1.amazonaws.com": () => Response.json({ authorizationData: [] }) }, seen), [])).rejects.toMatchObject({ message: "ECR GetAuthorizationToken answered without an authorization token" });
    expect(seen.at(-1)?.headers.get("X-Amz-Security-Token")).toBeNull();
  });

  it("xmlText reads an element and unescapes XML entities", () => {
    expect(xmlText("<a><Code>x&amp;y&lt;</Code></a>", "Code")).toBe("x&y<");
    expect(xmlText("<a/>", "Code")).toBeUndefined();
  });
});
