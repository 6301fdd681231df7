import { describe, expect, it } from "vitest";
import { jwksFromPems } from "./pem.ts";

/** An RSA key and a self-signed certificate for it (made with openssl; public material only). */
const FIXTURE_CERT = `-----BEGIN CERTIFICATE-----
MIIDPjCCAiagAwIBAgITMlNOaGqXWPExkK3WL0f8VYLuIDANBgkqhkiG9w0BAQsF
ADAvMS0wKwYDVQQDDCRqd3QtcmVnaXN0cnktYXV0aCBzdGF0aWMga2V5IGZpeHR1
cmUwHhcNMjYxMTI5MTI0NDU1WhcNMzYxMTI2MTI0NDU1WjAvMS0wKwYDVQQDDCRq
d3QtcmVnaXN0cnktYXV0aCBzdGF0aWMga2V5IGZpeHR1cmUwggEiMA0GCSqGSIb3
DQEBAQUAA4IBDwAwggEKAoIBAQCyxGIO5PybizYnHIjftAxlyHn8bKFVw3a+h+6p
XjCrb/QKEj+wTlUPvNiZ6uAR6rC2MjGpQ6I5IZVnGqvusKql9LYmj2Now4S/GZhI
ie6X01da2X8ezFYA1mSYSrf8FT90xzSeAJVShCYKXMoNC3yfnkWbfrO34abc3qa1
x92TBwSwTKrTomZvnyXnXFunPan7cTwUy+7aMP6pu2qA97M3hc8Yc6gxx40cPR22
kLTo2TQ+U+hHSCzG+uMz/3jsKf/fLkyTCKXMwKxIx8PM3jT9b7U1gXLMPD04Spwp
+hA7oWclnHIQ4ZvUO5dqSxz/hMTpF+EiyqdcuAQPmTRozyD/AgMBAAGjUzBRMB0G
A1UdDgQWBBSojVOXB6NT0O4w5Tm5emlc0XQrLDAfBgNVHSMEGDAWgBSojVOXB6NT
0O4w5Tm5emlc0XQrLDAPBgNVHRMBAf8EBTADAQH/MA0GCSqGSIb3DQEBCwUAA4IB
AQBl+AAej8sCrlCEoDs/DqYtvu3pTUAdBP0Qc5saFaKrvL1AltsfQ6jKTmdneqB7
URdKIXn1yaLvQkFSa7qem69s9ckeDn7lftyzQIMpdQdfAgU9QS4HcvZ4V6vIv1JK
ZBQwJl+bJ62CqGXQNs0+oNoiYMElsYt/DYcVFBCUS2tJkDu2msrTvGI6NOuf4ps9
WAIx8LYXxczyP0VdQ7QxWyymAYAa4LJzZXXPzytxVZMVfcYaZpucUK+0e+n7z6dm
WpmAeSdF04jl1Kgzyo0EmyNSWL5+dTqv/ADN8dVfkO47zQA0vKhmgS61tLuF/oLt
6joxeF9vB7CbkOhzS8eQZN7v
-----END CERTIFICATE-----
`;
const FIXTURE_SPKI = `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAssRiDuT8m4s2JxyI37QM
Zch5/GyhVcN2vofuqV4wq2/0ChI/sE5VD7zYmergEeqwtjIxqUOiOSGVZxqr7rCq
pfS2Jo9jaMOEvxmYSInul9NXWtl/HsxWANZkmEq3/BU/dMc0ngCVUoQmClzKDQt8
n55Fm36zt+Gm3N6mtcfdkwcEsEyq06Jmb58l51xbpz2p+3E8FMvu2jD+qbtqgPez
N4XPGHOoMceNHD0dtpC06Nk0PlPoR0gsxvrjM/947Cn/3y5MkwilzMCsSMfDzN40
/W+1NYFyzDw9OEqcKfoQO6FnJZxyEOGb1DuXaksc/4TE6RfhIsqnXLgED5k0aM8g
/wIDAQAB
-----END PUBLIC KEY-----
`;

describe("jwksFromPems", () => {
  it("reads a certificate as the key it certifies", async () => {
    const fromCert = await jwksFromPems([FIXTURE_CERT]);
    expect(fromCert.ok).toBe(true);
    expect(fromCert).toEqual(await jwksFromPems([FIXTURE_SPKI]));
    expect(fromCert.ok && fromCert.value[0]).toMatchObject({ kty: "RSA", e: "AQAB" });
    expect(fromCert.ok && fromCert.value[0]).not.toHaveProperty("alg");
  });

  it("reads several PEM blocks from one entry", async () => {
    const both = await jwksFromPems([`${FIXTURE_SPKI}\n${FIXTURE_CERT}`]);
    expect(both.ok && both.value).toHaveLength(2);
  });

  it.each([
    [[], "no static keys"],
    [["hello"], "static key 1 is not a PEM public key or certificate"],
    [[FIXTURE_SPKI, "-----BEGIN RSA PUBLIC KEY-----\nMAo=\n-----END RSA PUBLIC KEY-----"], "static key 2 is not a PEM public key or certificate"],
    [["-----BEGIN PUBLIC KEY-----\nMAo=\n-----END PUBLIC KEY-----"], "static key 1 is not an RSA, EC (P-256/384/521) or Ed25519 public key"],
  ])("refuses %j", async (pems, detail) => {
    expect(await jwksFromPems(pems)).toEqual({ ok: false, detail });
  });
});
