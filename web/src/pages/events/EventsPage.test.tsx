import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { DeadLetterView, EventRuleView } from "../../../../src/api/console/contract/events.js";
import { SessionContext } from "../../session.js";
import { mockApi } from "../scanning/fetch-testing.js";
import { EventsPage } from "./EventsPage.js";

/**
 * The events page against a stand-in API: tabs in the URL, rules with their counts leading to
 * the rule's dead letters, rule enable/disable, redrive of one letter and of a rule's letters,
 * and what non-administrators see (the rules only).
 */

const ruleRow: EventRuleView = {
  bus: "default",
  name: "scans",
  arn: "arn:aws:events:eu-west-1:123456789012:rule/scans",
  state: "ENABLED",
  eventPattern: '{"source":["aws.ecr"]}',
  scheduleExpression: null,
  description: null,
  targets: 1,
  pending: 3,
  deadLetters: 2,
  updatedAt: 1,
};
const letter = (id: number): DeadLetterView => ({
  id,
  queue: "default",
  bus: "default",
  rule: "scans",
  targetId: "to-audit",
  targetArn: "arn:aws:events:eu-west-1:123456789012:event-bus/audit",
  eventId: `event-${id}`,
  detailType: "ECR Image Action",
  attempts: 3,
  errorCode: "RETRIES_EXHAUSTED",
  errorMessage: "HTTP 500",
  deadAt: Date.now() - 60_000,
  event: { id: `event-${id}` },
});

let api: ReturnType<typeof mockApi>;
let letters: DeadLetterView[];
beforeEach(() => {
  window.history.replaceState(null, "", "/console/events");
  letters = [letter(2), letter(1)];
  api = mockApi((r) => {
    const p = r.url.pathname;
    if (p === "/api/console/events/buses") return { json: { items: ["default", "audit"] } };
    if (p === "/api/console/events/rules")
      return { json: { items: [ruleRow], total: 1, limit: 50, offset: 0 } };
    if (p === "/api/console/events/rules/scans/state") return { json: { name: "scans", state: "DISABLED" } };
    if (p === "/api/console/events/dead-letters")
      return { json: { items: letters, total: letters.length, limit: 50, offset: 0 } };
    if (p === "/api/console/events/dead-letters/redrive") {
      const b = r.body as { ids?: number[] };
      const before = letters.length;
      letters = b.ids ? letters.filter((l) => !b.ids!.includes(l.id)) : [];
      return { json: { redriven: before - letters.length } };
    }
    return undefined;
  });
});
afterEach(() => api.restore());

const calls = (method: string, path: string) =>
  api.requests.filter((r) => r.method === method && r.url.pathname === `/api/console${path}`);

describe("EventsPage", () => {
  it("lists rules; their dead-letter count opens the rule's dead letters (tab in the URL)", async () => {
    render(<EventsPage />);
    expect(await screen.findByTestId("events-rule-scans")).toBeTruthy();
    fireEvent.click(screen.getByTestId("events-rule-scans-dead-letters"));
    expect(window.location.search).toContain("tab=dead-letters");
    expect(window.location.search).toContain("rule=scans");
    expect(await screen.findByTestId("events-redrive-2")).toBeTruthy();
    expect(calls("GET", "/events/dead-letters").at(-1)!.url.searchParams.get("rule")).toBe("scans");
  });

  it("disables a rule", async () => {
    render(<EventsPage />);
    fireEvent.click(await screen.findByTestId("events-rule-scans-toggle"));
    await waitFor(() => expect(calls("POST", "/events/rules/scans/state")).toHaveLength(1));
    expect(calls("POST", "/events/rules/scans/state")[0]!.body).toEqual({ state: "DISABLED" });
  });

  it("redrives one dead letter, then all of a rule's", async () => {
    window.history.replaceState(null, "", "/console/events?tab=dead-letters&rule=scans");
    render(<EventsPage />);
    fireEvent.click(await screen.findByTestId("events-redrive-1"));
    expect((await screen.findByTestId("events-redrive-notice")).textContent).toBe(
      "1 dead letter queued for delivery again.",
    );
    expect(calls("POST", "/events/dead-letters/redrive")[0]!.body).toEqual({ ids: [1] });
    await waitFor(() => expect(screen.queryByTestId("events-redrive-1")).toBeNull());
    fireEvent.click(screen.getByTestId("events-redrive-all"));
    await waitFor(() => expect(calls("POST", "/events/dead-letters/redrive")).toHaveLength(2));
    expect(calls("POST", "/events/dead-letters/redrive")[1]!.body).toEqual({ bus: "default", rule: "scans" });
  });

  it("shows non-administrators the rules only: no changes, no targets, deliveries or dead letters", async () => {
    const asDev = () => (
      <SessionContext value={{ open: false, user: "dev", admin: false, csrfToken: "t" }}>
        <EventsPage />
      </SessionContext>
    );
    const { unmount } = render(asDev());
    expect(await screen.findByTestId("events-rule-scans")).toBeTruthy();
    expect(screen.queryByTestId("events-rule-scans-toggle")).toBeNull();
    unmount();
    window.history.replaceState(null, "", "/console/events?tab=dead-letters");
    render(asDev());
    expect(await screen.findByTestId("events-forbidden")).toBeTruthy();
    expect(calls("GET", "/events/dead-letters")).toHaveLength(0);
  });
});
