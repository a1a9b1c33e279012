import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  apiDestinationArn,
  archiveArn,
  busArn,
  busNameOf,
  connectionArn,
  parseEventsArn,
  replayArn,
  ruleArn,
} from "./bus-arns.js";

const id = { accountId: "123456789012", region: "eu-central-1" };
const name = fc.stringMatching(/^[.\-_A-Za-z0-9]{1,64}$/);

describe("events ARNs", () => {
  it("every ARN Drydock writes reads back as the resource it names", () => {
    fc.assert(
      fc.property(name, name, fc.integer({ min: 0, max: 2 ** 45 }), (bus, n, createdAt) => {
        expect(parseEventsArn(id, ruleArn(id, "default", n))).toEqual({
          kind: "rule",
          bus: "default",
          name: n,
        });
        expect(parseEventsArn(id, ruleArn(id, bus, n))).toEqual({ kind: "rule", bus, name: n });
        expect(parseEventsArn(id, busArn(id, bus))).toEqual({ kind: "event-bus", name: bus });
        expect(busNameOf(id, busArn(id, bus))).toBe(bus);
        expect(parseEventsArn(id, archiveArn(id, n))).toEqual({ kind: "archive", name: n });
        expect(parseEventsArn(id, replayArn(id, n))).toEqual({ kind: "replay", name: n });
        const c = connectionArn(id, { name: n, createdAt });
        expect(parseEventsArn(id, c)).toMatchObject({ kind: "connection", name: n });
        expect(connectionArn(id, { name: n, createdAt })).toBe(c); // stable
        expect(parseEventsArn(id, apiDestinationArn(id, { name: n, createdAt }))).toMatchObject({
          kind: "api-destination",
          name: n,
        });
      }),
    );
  });

  it("a new incarnation of a connection gets a new uuid", () => {
    expect(connectionArn(id, { name: "c", createdAt: 1 })).not.toBe(
      connectionArn(id, { name: "c", createdAt: 2 }),
    );
  });

  it("never throws on untrusted strings; other accounts' and regions' ARNs name nothing here", () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        parseEventsArn(id, s);
        busNameOf(id, s);
      }),
    );
    expect(parseEventsArn(id, "arn:aws:events:us-east-1:123456789012:rule/r")).toBeUndefined();
    expect(parseEventsArn(id, "arn:aws:events:eu-central-1:000000000000:rule/r")).toBeUndefined();
    expect(parseEventsArn(id, "arn:aws:events:eu-central-1:123456789012:rule/a/b/c")).toBeUndefined();
    expect(busNameOf(id, undefined)).toBe("default");
    expect(busNameOf(id, "arn:aws:events:eu-central-1:123456789012:rule/r")).toBeUndefined();
  });
});
