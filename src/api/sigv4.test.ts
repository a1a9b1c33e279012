import { describe, expect, it } from "vitest";
import {
  canonicalQuery,
  canonicalRequest,
  computeSignature,
  parseAmzDate,
  verifySigV4,
  type SigV4Request,
} from "./sigv4.js";

/**
 * Vectors transcribed from the AWS Signature Version 4 test suite (aws-sig-v4-test-suite,
 * https://docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html, as also carried
 * by aws-c-auth's tests): credentials AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY,
 * region us-east-1, service "service", date 20150830T123600Z, host example.amazonaws.com.
 */
const SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const DATE = "20150830T123600Z";
const NOW = parseAmzDate(DATE);

function suiteRequest(method: string, url: string, extra: [string, string][] = []): SigV4Request {
  return {
    method,
    url,
    rawHeaders: [...extra.flat(), "Host", "example.amazonaws.com", "X-Amz-Date", DATE],
    body: Buffer.alloc(0),
  };
}

const vectors: { name: string; req: SigV4Request; signed: string[]; signature: string }[] = [
  {
    name: "get-vanilla",
    req: suiteRequest("GET", "/"),
    signed: ["host", "x-amz-date"],
    signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
  },
  {
    name: "post-vanilla",
    req: suiteRequest("POST", "/"),
    signed: ["host", "x-amz-date"],
    signature: "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
  },
  {
    name: "get-vanilla-query-order-key-case",
    req: suiteRequest("GET", "/?Param2=value2&Param1=value1"),
    signed: ["host", "x-amz-date"],
    signature: "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
  },
  {
    name: "post-header-value-case",
    req: suiteRequest("POST", "/", [["My-Header1", "VALUE1"]]),
    signed: ["host", "my-header1", "x-amz-date"],
    signature: "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d",
  },
];

const scope = { date: "20150830", region: "us-east-1", service: "service" };

function authorize(req: SigV4Request, signed: string[], signature: string): SigV4Request {
  const authz = `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=${signed.join(";")}, Signature=${signature}`;
  return { ...req, rawHeaders: [...req.rawHeaders, "Authorization", authz] };
}

const opts = (now = NOW) => ({
  service: "service",
  secretFor: (id: string) => (id === "AKIDEXAMPLE" ? SECRET : undefined),
  now: () => now,
});

describe("SigV4 against the AWS test suite", () => {
  for (const v of vectors) {
    it(`${v.name}: computes the suite's signature and verifies it`, () => {
      expect(computeSignature(v.req, { ...scope, signedHeaders: v.signed }, SECRET, DATE)).toBe(v.signature);
      expect(verifySigV4(authorize(v.req, v.signed, v.signature), opts())).toEqual({
        ok: true,
        accessKeyId: "AKIDEXAMPLE",
        region: "us-east-1",
      });
    });
  }

  it("get-vanilla canonical request is the suite's .creq", () => {
    expect(
      canonicalRequest(
        vectors[0]!.req,
        ["host", "x-amz-date"],
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      ),
    ).toBe(
      "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
  });

  it("sorts and encodes query parameters", () => {
    expect(canonicalQuery("b=2&a=x%20y&a=1&c")).toBe("a=1&a=x%20y&b=2&c=");
  });
});

describe("SigV4 failures", () => {
  const v = vectors[1]!;
  it("unknown access key → UnrecognizedClientException", () => {
    const r = verifySigV4(authorize(v.req, v.signed, v.signature), { ...opts(), secretFor: () => undefined });
    expect(r).toMatchObject({ ok: false, code: "UnrecognizedClientException" });
  });
  it("wrong signature → InvalidSignatureException", () => {
    const r = verifySigV4(authorize(v.req, v.signed, "0".repeat(64)), opts());
    expect(r).toMatchObject({ ok: false, code: "InvalidSignatureException" });
  });
  it("a changed body fails", () => {
    const req = authorize({ ...v.req, body: Buffer.from("{}") }, v.signed, v.signature);
    expect(verifySigV4(req, opts())).toMatchObject({ ok: false, code: "InvalidSignatureException" });
  });
  it("outside the 15-minute window → InvalidSignatureException (Signature expired)", () => {
    const req = authorize(v.req, v.signed, v.signature);
    expect(verifySigV4(req, opts(NOW + 14 * 60_000)).ok).toBe(true);
    const late = verifySigV4(req, opts(NOW + 16 * 60_000));
    expect(late).toMatchObject({ ok: false, code: "InvalidSignatureException" });
    expect(!late.ok && late.message).toMatch(
      /^Signature expired: 20150830T123600Z is now earlier than 20150830T123700Z/,
    );
    expect(verifySigV4(req, opts(NOW - 16 * 60_000))).toMatchObject({ ok: false });
  });
  it("no Authorization → MissingAuthenticationTokenException; malformed → IncompleteSignatureException", () => {
    expect(verifySigV4(v.req, opts())).toMatchObject({ code: "MissingAuthenticationTokenException" });
    const bad = {
      ...v.req,
      rawHeaders: [...v.req.rawHeaders, "Authorization", "AWS4-HMAC-SHA256 Credential=x"],
    };
    expect(verifySigV4(bad, opts())).toMatchObject({ code: "IncompleteSignatureException" });
  });
  it("a scope for another service is refused", () => {
    const r = verifySigV4(authorize(v.req, v.signed, v.signature), { ...opts(), service: "ecr" });
    expect(r).toMatchObject({ ok: false, code: "InvalidSignatureException" });
  });
});
