#!/usr/bin/env node
// Event-pattern matching benchmark: events per second through the compiled rule index
// (compileRules from dist/events/pattern) with 10, 1,000 and 10,000 rules, one core.
//
//   npm run bench:events-match     (node --expose-gc bench/events-match.mjs after a build)
//
// The rules are a mix of what users write against ECR and Inspector2 events, every operator
// represented: exact source / detail-type / repository names, severities, prefix, suffix,
// wildcard, equals-ignore-case, anything-but, numeric, exists, $or, arrays. Rule i names
// repository i in one spelling or another. The events (EVENTS distinct ones, default 2,000) are
// the same for every rule count: ECR Image Scan, ECR Image Action and Inspector2 Finding events
// for repositories drawn from 20,000, each shaped the way the rule for that repository number
// expects give or take a detail, so that with 10,000 rules about a third of the events match a
// rule and with 10 rules almost none do.
// Each size is timed for SECONDS (default 3) after a warm-up, in ROUNDS (default 5) that alternate
// between the sizes; the figure is the median, in events per CPU second of the process (wall-clock
// events/s are printed beside it). Goals (issue 12): with 1,000 rules at least 20,000 events/s on
// one core; the cost per event with 10,000 rules at most twice that with 10.
// bench/events.mjs (npm run bench:events) runs this too, with the delivery figures.
//
// Environment: EVENTS (2000), SECONDS (3), ROUNDS (5), SIZES ("10,1000,10000").
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { loadavg, log, median, prng, table, writeResults } from "./common.mjs";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
// PATTERN_DIST: another build of src/events/pattern (a directory holding index.js), for comparing.
const loadPattern = () =>
  import(
    pathToFileURL(resolve(process.env.PATTERN_DIST ?? join(repoRoot, "dist/events/pattern"), "index.js")).href
  );

const EVENTS = Number(process.env.EVENTS ?? 2000);
const SECONDS = Number(process.env.SECONDS ?? 3);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const SIZES = (process.env.SIZES ?? "10,1000,10000").split(",").map(Number);
const POOL = 20_000;
const ACCOUNT = "123456789012";

/** Rule i: one of eight shapes, each naming repository i its own way. */
function ruleText(i) {
  const arn = (name) => `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/${name}`;
  switch (i % 8) {
    case 0:
      return {
        source: ["aws.ecr"],
        "detail-type": ["ECR Image Scan"],
        detail: {
          "repository-name": [`repo-${i}`],
          "finding-severity-counts": { CRITICAL: [{ numeric: [">", 0] }] },
        },
      };
    case 1:
      return {
        source: ["aws.inspector2"],
        "detail-type": ["Inspector2 Finding"],
        detail: {
          severity: ["CRITICAL", "HIGH"],
          resources: { details: { awsEcrContainerImage: { repositoryName: [`repo-${i}`] } } },
        },
      };
    case 2:
      return {
        source: ["aws.ecr"],
        detail: { "repository-name": [{ prefix: `team-${i}/` }], "action-type": ["PUSH"] },
      };
    case 3:
      return {
        "detail-type": ["ECR Image Action"],
        detail: { "repository-name": [{ wildcard: `app-${i}-*` }], result: ["SUCCESS"] },
      };
    case 4:
      return {
        source: ["aws.ecr"],
        detail: { "image-tags": [`v${i}`, { suffix: `-rc${i}` }], "image-digest": [{ exists: true }] },
      };
    case 5:
      return {
        "detail-type": ["ECR Image Scan"],
        detail: { "repository-name": [`repo-${i}`], "image-tags": [{ "anything-but": ["latest"] }] },
      };
    case 6:
      return {
        source: ["aws.ecr"],
        $or: [{ detail: { "repository-name": [`svc-${i}`] } }, { resources: [arn(`svc-${i}`)] }],
      };
    default:
      return {
        account: [ACCOUNT],
        detail: { "repository-name": [{ "equals-ignore-case": `Repo-${i}` }], "scan-status": ["COMPLETE"] },
      };
  }
}

function makeEvents(n) {
  const rnd = prng(7);
  const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
  const out = [];
  for (let k = 0; k < n; k++) {
    // Repository r is spelled, and its event shaped, the way rule r (if there is one) expects,
    // give or take a random detail that sometimes makes it miss.
    const r = Math.floor(rnd() * POOL);
    const shape = r % 8;
    const name = [
      `repo-${r}`,
      `repo-${r}`,
      `team-${r}/api`,
      `app-${r}-web`,
      `lib-${r}`,
      `repo-${r}`,
      `svc-${r}`,
      `REPO-${r}`,
    ][shape];
    const arn = `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/${name}`;
    const base = {
      version: "0",
      id: `00000000-0000-0000-0000-${String(k).padStart(12, "0")}`,
      account: ACCOUNT,
      time: "2026-01-01T00:00:00Z",
      region: "us-east-1",
    };
    const digest = `sha256:${(r * 2654435761).toString(16).padStart(64, "0").slice(0, 64)}`;
    const tags = pick([["latest"], [`v${r}`], [`1.0-rc${r}`, "latest"], []]);
    const kind =
      shape === 1
        ? "finding"
        : shape === 2 || shape === 3
          ? "action"
          : shape === 6
            ? pick(["scan", "action"])
            : "scan";
    if (kind === "scan") {
      out.push({
        ...base,
        source: "aws.ecr",
        "detail-type": "ECR Image Scan",
        resources: [arn],
        detail: {
          "scan-status": pick(["COMPLETE", "COMPLETE", "FAILED"]),
          "repository-name": shape === 6 ? pick([name, "other"]) : name,
          "finding-severity-counts": pick([{ CRITICAL: 2, HIGH: 5 }, { MEDIUM: 3 }, {}]),
          "image-digest": digest,
          "image-tags": tags,
        },
      });
    } else if (kind === "action") {
      out.push({
        ...base,
        source: "aws.ecr",
        "detail-type": "ECR Image Action",
        resources: [],
        detail: {
          result: pick(["SUCCESS", "SUCCESS", "FAILURE"]),
          "repository-name": name,
          "image-digest": digest,
          "action-type": pick(["PUSH", "DELETE"]),
          "image-tag": tags[0] ?? "latest",
        },
      });
    } else {
      out.push({
        ...base,
        source: "aws.inspector2",
        "detail-type": "Inspector2 Finding",
        resources: [`${arn}/${digest}`],
        detail: {
          awsAccountId: ACCOUNT,
          severity: pick(["CRITICAL", "HIGH", "MEDIUM", "LOW"]),
          status: "ACTIVE",
          type: "PACKAGE_VULNERABILITY",
          title: `CVE-2026-${r} - openssl`,
          inspectorScore: Math.round(rnd() * 100) / 10,
          packageVulnerabilityDetails: {
            vulnerabilityId: `CVE-2026-${r}`,
            vulnerablePackages: [{ name: "openssl", version: "3.0.1", fixedInVersion: "3.0.9" }],
          },
          resources: [
            {
              type: "AWS_ECR_CONTAINER_IMAGE",
              id: `${arn}/${digest}`,
              details: {
                awsEcrContainerImage: {
                  repositoryName: name,
                  imageHash: digest,
                  imageTags: tags,
                  registry: ACCOUNT,
                },
              },
            },
          ],
        },
      });
    }
  }
  return out;
}

function timeRound(index, events, seconds) {
  // Garbage from building the index collected first (node --expose-gc), a warm-up of half a
  // second, then as many passes over the events as fit in `seconds`. The cost is taken in CPU
  // time of this process (user + system) as well as wall time: on a machine shared with other
  // work, time slices lost to it do not count against the matcher.
  globalThis.gc?.();
  const warm = performance.now();
  while (performance.now() - warm < 500) for (const e of events) index.matchingRules(e);
  let n = 0;
  let matched = 0;
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < deadline) {
    for (const e of events) matched += index.matchingRules(e).length;
    n += events.length;
    now = process.hrtime.bigint();
  }
  const cpu = process.cpuUsage(cpu0);
  const wall = Number(now - start) / 1e9;
  return {
    eventsPerSecond: n / ((cpu.user + cpu.system) / 1e6),
    wallEventsPerSecond: n / wall,
    matchesPerEvent: matched / n,
  };
}

/**
 * Builds an index of each size from the same rule generator and times it on the same events;
 * returns the figures and prints progress on stderr.
 */
export async function matchBenchmark({
  events: eventCount = EVENTS,
  seconds = SECONDS,
  rounds = ROUNDS,
  sizes = SIZES,
} = {}) {
  const { compileRules, parseEventPattern } = await loadPattern();
  log(
    `matching: load average ${loadavg()}; ${eventCount} events; sizes ${sizes.join(", ")}; ${rounds} x ${seconds} s each`,
  );
  const events = makeEvents(eventCount);
  const built = [];
  for (const size of sizes) {
    const texts = Array.from({ length: size }, (_, i) => JSON.stringify(ruleText(i)));
    const t0 = performance.now();
    const parsed = texts.map((t) => parseEventPattern(t));
    const t1 = performance.now();
    const index = compileRules(parsed.map((pattern, i) => ({ id: `rule-${i}`, pattern })));
    const t2 = performance.now();
    built.push({ size, index, parseMs: t1 - t0, compileMs: t2 - t1, rounds: [] });
  }
  // Rounds alternate between the sizes, so that the machine's load drifts alike for all of them.
  for (let r = 0; r < rounds; r++) {
    for (const b of built) {
      b.rounds.push(timeRound(b.index, events, seconds));
      const x = b.rounds[r];
      log(
        `round ${r + 1}: ${b.size} rules: ${Math.round(x.eventsPerSecond)} events per CPU second, ${Math.round(x.wallEventsPerSecond)} per second`,
      );
    }
  }
  const results = built.map((b) => {
    const eps = median(b.rounds.map((x) => x.eventsPerSecond));
    return {
      rules: b.size,
      parseMs: b.parseMs,
      compileMs: b.compileMs,
      eventsPerSecond: eps,
      wallEventsPerSecond: median(b.rounds.map((x) => x.wallEventsPerSecond)),
      microsecondsPerEvent: 1e6 / eps,
      matchesPerEvent: b.rounds[0].matchesPerEvent,
    };
  });
  const bySize = (n) => results.find((r) => r.rules === n);
  const ratio =
    bySize(10000) && bySize(10) ? bySize(10000).microsecondsPerEvent / bySize(10).microsecondsPerEvent : NaN;
  return { loadavg: loadavg(), events: eventCount, seconds, rounds, results, ratio };
}

/** The figures as printed lines. */
export function matchReport({ results, ratio }) {
  const lines = [
    table(
      [
        ["rules", "parse ms", "compile ms", "events/CPU-s", "events/s (wall)", "µs/event", "matches/event"],
        ...results.map((r) => [
          r.rules,
          r.parseMs.toFixed(0),
          r.compileMs.toFixed(0),
          Math.round(r.eventsPerSecond),
          Math.round(r.wallEventsPerSecond),
          r.microsecondsPerEvent.toFixed(2),
          r.matchesPerEvent.toFixed(3),
        ]),
      ],
      0,
    ),
    `cost per event (CPU time), 10,000 rules / 10 rules: ${ratio.toFixed(2)} (goal <= 2)`,
  ];
  const k1 = results.find((r) => r.rules === 1000);
  if (k1) lines.push(`1,000 rules: ${Math.round(k1.eventsPerSecond)} events per CPU second (goal >= 20,000)`);
  return lines.join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const report = await matchBenchmark();
  console.log(matchReport(report));
  log(`results in ${writeResults("events-match", report)}`);
}
