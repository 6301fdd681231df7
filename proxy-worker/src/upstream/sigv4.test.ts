/**
 * SigV4 against AWS's published aws-sig-v4-test-suite, vendored as data: the
 * cases below are copied from github.com/mhart/aws4 test/aws-sig-v4-test-suite
 * at commit 9d00a5acf4df38ec80f6918fa7f17fc06492e01f (AWS's suite, credentials
 * AKIDEXAMPLE, region us-east-1, service "service"). Each checks the canonical
 * request (.creq) and the Authorization header (.authz).
 */
import { describe, expect, it } from "vitest";
import { amzDate, authorization, canonicalRequest, signedPostHeaders, type SigV4Request } from "./sigv4.ts";

const CREDENTIALS = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };
const SESSION_TOKEN =
  "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

interface Vector extends SigV4Request {
  readonly name: string;
  readonly creq: string;
  readonly authz: string;
}

const VECTORS: readonly Vector[] = [
  {
    "name": "get-vanilla",
    "method": "GET",
    "path": "/",
    "query": "",
    "headers": [
      [
        "Host",
        "example.amazonaws.com"
      ],
      [
        "X-Amz-Date",
        "20150830T123600Z"
      ]
    ],
    "body": "",
    "creq": "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "authz": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
  },
  {
    "name": "get-vanilla-query-order-key-case",
    "method": "GET",
    "path": "/",
    "query": "Param2=value2&Param1=value1",
    "headers": [
      [
        "Host",
        "example.amazonaws.com"
      ],
      [
        "X-Amz-Date",
        "20150830T123600Z"
      ]
    ],
    "body": "",
    "creq": "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "authz": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
  },
  {
    "name": "get-vanilla-query-unreserved",
    "method": "GET",
    "path": "/",
    "query": "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    "headers": [
      [
        "Host",
        "example.amazonaws.com"
      ],
      [
        "X-Amz-Date",
        "20150830T123600Z"
      ]
    ],
    "body": "",
    "creq": "GET\n/\n-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "authz": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"
  },
  {
    "name": "get-header-value-trim",
    "method": "GET",
    "path": "/",
    "query": "",
    "headers": [
      [
        "Host",
        "example.amazonaws.com"
      ],
      [
        "My-Header1",
        " value1"
      ],
      [
        "My-Header2",
        " \"a   b   c\""
      ],
      [
        "X-Amz-Date",
        "20150830T123600Z"
      ]
    ],
    "body": "",
    "creq": "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\nx-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "authz": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;my-header2;x-amz-date, Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"
  },
  {
    "name": "post-x-www-form-urlencoded",
    "method": "POST",
    "path": "/",
    "query": "",
    "headers": [
      [
        "Content-Type",
        "application/x-www-form-urlencoded"
      ],
      [
        "Host",
        "example.amazonaws.com"
      ],
      [
        "X-Amz-Date",
        "20150830T123600Z"
      ]
    ],
    "body": "Param1=value1",
    "creq": "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
    "authz": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"
  },
  {
    "name": "post-x-www-form-urlencoded-parameters",
    "method": "POST",
    "path": "/",
    "query": "",
    "headers": [
      [
        "Content-Type",
        "application/x-www-form-urlencoded; charset=utf8"
      ],
      [
        "Host",
        "example.amazonaws.com"
      ],
      [
        "X-Amz-Date",
        "20150830T123600Z"
      ]
    ],
    "body": "Param1=value1",
    "creq": "POST\n/\n\ncontent-type:application/x-www-form-urlencoded; charset=utf8\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
    "authz": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe"
  },
  {
    "name": "post-sts-token/post-sts-header-before",
    "method": "POST",
    "path": "/",
    "query": "",
    "headers": [
      [
        "Host",
        "example.amazonaws.com"
      ],
      [
        "X-Amz-Date",
        "20150830T123600Z"
      ],
      [
        "X-Amz-Security-Token",
        SESSION_TOKEN
      ]
    ],
    "body": "",
    "creq": "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\nx-amz-security-token:@SESSION_TOKEN@\n\nhost;x-amz-date;x-amz-security-token\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "authz": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"
  }
];


describe("SigV4 (aws-sig-v4-test-suite)", () => {
  for (const vector of VECTORS) {
    it(vector.name, async () => {
      const credentials = vector.headers.some(([name]) => name === "X-Amz-Security-Token") ? { ...CREDENTIALS, sessionToken: SESSION_TOKEN } : CREDENTIALS;
      expect((await canonicalRequest(vector)).text).toBe(vector.creq.replace("@SESSION_TOKEN@", SESSION_TOKEN));
      expect(await authorization(vector, credentials, { region: "us-east-1", service: "service", amzDate: "20150830T123600Z" })).toBe(vector.authz);
    });
  }

  it("a different secret, region or date gives a different signature", async () => {
    const [vanilla] = VECTORS as [Vector];
    const scope = { region: "us-east-1", service: "service", amzDate: "20150830T123600Z" };
    const signatures = new Set([
      await authorization(vanilla, CREDENTIALS, scope),
      await authorization(vanilla, { ...CREDENTIALS, secretAccessKey: "other" }, scope),
      await authorization(vanilla, CREDENTIALS, { ...scope, region: "eu-west-1" }),
      await authorization(vanilla, CREDENTIALS, { ...scope, amzDate: "20150830T123601Z" }),
    ]);
    expect(signatures.size).toBe(4);
  });

  it("signedPostHeaders signs Host, X-Amz-Date and the session token, and leaves Host for fetch to send", async () => {
    const url = new URL("https://api.ecr.us-east-1.amazonaws.com/");
    const nowMs = Date.UTC(2015, 7, 30, 12, 36, 0);
    const headers = await signedPostHeaders(url, { "Content-Type": "application/x-amz-json-1.1" }, "{}", { ...CREDENTIALS, sessionToken: "tok" }, { region: "us-east-1", service: "ecr", nowMs });
    expect(amzDate(nowMs)).toBe("20150830T123600Z");
    expect(headers["X-Amz-Date"]).toBe("20150830T123600Z");
    expect(headers["X-Amz-Security-Token"]).toBe("tok");
    expect(headers["Host"]).toBeUndefined();
    expect(headers["Authorization"]).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20150830\/us-east-1\/ecr\/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/);
  });
});
