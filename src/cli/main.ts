#!/usr/bin/env node
import { Command, Option } from "commander";
import { ConfigError } from "../core/errors.js";
import { EXIT_USAGE, SBOM_FORMATS, SCAN_FORMATS, VERSION_SCHEME_IDS, exitFor } from "./common.js";
import type * as Db from "./db.js";
import type { DlqOptions } from "./events-dlq.js";
import type { AddOptions, ExceptionsOptions } from "./exceptions.js";
import type { SignaturesOptions } from "./signatures.js";
import type { ConnectionSecretOptions } from "./events-connection.js";
import type { TailOptions } from "./events.js";
import type { PolicyOptions } from "./policy.js";
import type { SbomOptions } from "./sbom.js";
import type { ScanOptions } from "./scan.js";
import type { LifecycleRunOptions } from "./lifecycle.js";
import type { GcOptions, MigrateOptions, ServeOptions } from "./server.js";
import type { CompareOptions } from "./version.js";

/**
 * The `drydock` command: every command, its options and help, defined with commander alone.
 * What a command does lives in its own module (server.ts, sbom.ts, scan.ts, db.ts, version.ts,
 * events.ts), imported by its action only: `drydock --help` or `drydock version compare` must
 * not load the registry server, the stores, the catalogers and the vulnerability database
 * (about half a second and 100 MB). Static imports here stay cheap: commander and modules
 * without dependencies (startup.test.ts checks).
 *
 * Exit codes, every command: 0 done; 2 a usage error (unknown command or option, missing
 * argument: commander's 1 becomes 2) or a configuration, image or database error. Commands
 * add their own: `scan` 1 when the gate fails, `sbom` 3 for an incomplete inventory, `db` 1
 * when the database could not be built or read.
 */
export function buildCli(): Command {
  const program = new Command("drydock")
    .description("Drydock: an OCI container registry with built-in vulnerability scanning")
    .version("0.1.0")
    .showHelpAfterError()
    // Commander exits 1 on a usage error, and 1 is `scan`'s "findings at or above --fail-on"
    // and `db`'s "the database could not be built": a script must be able to tell them apart.
    // Set before any command is added, so that every command and subcommand inherits it.
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE));

  const configOpt = () =>
    new Option("-c, --config <file>", "configuration file (YAML or JSON); also DRYDOCK_CONFIG").env(
      "DRYDOCK_CONFIG",
    );
  const dataOpt = () =>
    new Option("-d, --data <dir>", "data directory for blobs and metadata (default ./data; DRYDOCK_DATA)");

  program
    .command("serve")
    .description("run the registry, the AWS APIs and the scan workers (one process, or a node of a cluster)")
    .addOption(configOpt())
    .addOption(dataOpt())
    .option("-l, --listen <host:port>", "address to listen on (default 127.0.0.1:5000; DRYDOCK_LISTEN)")
    .addOption(
      new Option(
        "--role <role>",
        "all | api (registry and AWS APIs) | worker (scans, background jobs); DRYDOCK_ROLE",
      ).choices(["all", "api", "worker"]),
    )
    .option(
      "--log-level <level>",
      "fatal|error|warn|info|debug|trace|silent (default info; DRYDOCK_LOG_LEVEL)",
    )
    .action(async (opts: ServeOptions) => (await import("./server.js")).serve(opts));

  program
    .command("migrate")
    .description(
      "bring the metadata database's schema up to this version (run once per upgrade of a cluster)",
    )
    .addOption(configOpt())
    .addOption(dataOpt())
    .action(async (opts: MigrateOptions) => (await import("./server.js")).migrate(opts));

  program
    .command("gc")
    .description("delete unreferenced blobs and expired uploads (safe while the server runs)")
    .addOption(configOpt())
    .addOption(dataOpt())
    .option("--dry-run", "report what would be deleted without deleting")
    .option("--grace-period <minutes>", "keep unreferenced blobs used within this many minutes", Number)
    .action(async (opts: GcOptions) => (await import("./server.js")).gc(opts));

  const lifecycle = program.command("lifecycle").description("ECR lifecycle policies (docs/lifecycle.md)");
  lifecycle
    .command("run")
    .description(
      "apply the repositories' lifecycle policies now (as the server's schedule does) and print what each rule expired",
    )
    .addOption(configOpt())
    .addOption(dataOpt())
    .option("--dry-run", "print what would expire without deleting anything")
    .option("--repository <name>", "only this repository")
    .option("--json", "print the result as JSON")
    .action(async (opts: LifecycleRunOptions) => (await import("./lifecycle.js")).lifecycleRun(opts));

  program
    .command("hash-password")
    .description("print a bcrypt hash for auth.users[].passwordHash (reads the password from stdin)")
    .action(async () => {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      const password = Buffer.concat(chunks)
        .toString("utf8")
        .replace(/\r?\n$/, "");
      if (!password) throw new ConfigError("no password on stdin");
      const { hashPassword } = await import("../auth/password.js");
      process.stdout.write((await hashPassword(password)) + "\n");
    });

  /** The image options of `sbom` and `scan`. */
  const addImageOptions = (cmd: Command): Command =>
    cmd
      .option("-c, --config <file>", "configuration file (YAML or JSON)")
      .option("-d, --data <dir>", "data directory holding the layer inventory cache (default ./data)")
      .option("--platform <os/arch[/variant]>", "analyse only this platform of a multi-platform image")
      .option("--insecure", "plain HTTP for docker:// references")
      .option("--creds <user:password>", "credentials for docker:// references")
      .option("--no-cache", "do not read or write the per-layer inventory cache");

  addImageOptions(
    program
      .command("sbom")
      .description(
        "inventory every package of an image and print an SBOM\n" +
          "IMAGE: oci:DIR[:TAG] | oci-archive:FILE | docker-archive:FILE | dir:PATH | docker://HOST/REPO[:TAG|@DIGEST]",
      )
      .argument("<image>", "image reference")
      .option("-f, --format <format>", `output format: ${SBOM_FORMATS.join(", ")}`, "json")
      .option("-o, --output <file>", "write to a file instead of stdout"),
  ).action(async (reference: string, opts: SbomOptions) => (await import("./sbom.js")).sbom(reference, opts));

  const db = program.command("db").description("build and inspect the vulnerability database");
  const dbOptions = (cmd: Command): Command =>
    cmd
      .option("-c, --config <file>", "configuration file (YAML or JSON); also DRYDOCK_CONFIG")
      .option(
        "-d, --data <dir>",
        "data directory (default ./data); the database defaults to DATA/vulndb/vulndb.sqlite",
      )
      .option(
        "--db <file>",
        "the database file (default: config vulndb.path, else DATA/vulndb/vulndb.sqlite)",
      );

  dbOptions(
    db
      .command("import")
      .description(
        "import feed files, directories or archives (.zip, .tar.gz, .tgz, .gz) into the database;\n" +
          "formats are recognized from the documents; a feed imported again replaces its previous records",
      )
      .argument("<path...>", "files or directories"),
  )
    .option("--fresh", "build from nothing instead of adding to the existing database")
    .option("--strict", "fail (keeping the previous database) if any document has a problem")
    .option("--json", "print the import report as JSON")
    .action(async (paths: string[], opts: Db.ImportOptions) =>
      (await import("./db.js")).importFeeds(paths, opts),
    );

  dbOptions(
    db
      .command("update")
      .description(
        "fetch every feed from its upstream URL, or from vulndb.mirror (a base URL or a directory),\n" +
          "with conditional requests; re-import only the feeds that changed",
      ),
  )
    .option("--mirror <url|dir>", "mirror base URL or directory (overrides vulndb.mirror)")
    .option("--feed <importer...>", "only these importers (osv, nvd, kev, epss, vulnrichment, …)")
    .option("--strict", "fail (keeping the previous database) if any document has a problem")
    .option("--json", "print the update report as JSON")
    .action(async (opts: Db.UpdateOptions) => (await import("./db.js")).update(opts));

  dbOptions(db.command("status").description("feeds, fingerprints, counts and age of the database"))
    .option("--json", "print the status as JSON")
    .option("--problems", "list the problems recorded for each feed")
    .action(async (opts: Db.StatusOptions) => (await import("./db.js")).status(opts));

  db.command("diff")
    .description(
      "advisories added, removed and changed between two databases, the (ecosystem, package) keys\n" +
        "they touch, and the CVEs whose enrichment changed (JSON)",
    )
    .argument("<old>", "the older database file")
    .argument("<new>", "the newer database file")
    .action(async (oldPath: string, newPath: string) => (await import("./db.js")).diff(oldPath, newPath));

  const version = program
    .command("version")
    .description("version schemes: order versions exactly as each ecosystem's own tools do");
  version
    .command("compare")
    .description("print -1, 0 or 1: whether A sorts before, with or after B in the scheme")
    .requiredOption(
      "-s, --scheme <scheme>",
      `version scheme: ${VERSION_SCHEME_IDS.join(", ")}, or an ecosystem such as npm or golang`,
    )
    .option("--batch", "read tab-separated pairs from stdin, print one result per line")
    .argument("[a]", "first version")
    .argument("[b]", "second version")
    .action(async (a: string | undefined, b: string | undefined, opts: CompareOptions) =>
      (await import("./version.js")).compare(a, b, opts),
    );

  addImageOptions(
    program
      .command("scan")
      .description(
        "scan an image for known vulnerabilities (the CI gate)\n" +
          "exit 0: nothing at or above --fail-on; 1: something is; 2: error",
      )
      .argument("<image>", "image reference (oci:, oci-archive:, docker-archive:, dir:, docker://)")
      .option("-f, --format <format>", `output: ${SCAN_FORMATS.join(", ")}`, "table")
      .option("--severity <list>", "report only these severities (comma-separated)")
      .option("--fail-on <severity>", "exit 1 when a finding at or above this severity remains")
      .option("--ignore-unfixed", "hide vulnerabilities with no fixed version")
      .option(
        "--ignore-file <file>",
        "YAML/JSON list of accepted vulnerabilities (id, package?, reason, expires)",
      )
      .option("--db <path>", "vulnerability database (default DATA/vulndb/vulndb.sqlite)")
      .option(
        "--max-db-age <hours>",
        "warn when the database is older than this (default vulndb.maxAgeHours, 24)",
      )
      .option("-o, --output <file>", "write the report to a file instead of stdout")
      .option(
        "--vex <file>",
        "OpenVEX or CycloneDX VEX document: not_affected findings are suppressed (repeatable)",
        (v: string, prev: string[] = []) => [...prev, v],
      )
      .option("--repository <name>", "the image's repository, for exceptions scoped by repository"),
  ).action(async (reference: string, opts: ScanOptions) => (await import("./scan.js")).scan(reference, opts));

  // Image signatures: what the gate decides, and Drydock's signed scan results (docs/signatures.md).
  const signatures = program
    .command("signatures")
    .description("verify image signatures (cosign, Notation) and Drydock's scan attestations");
  const signatureOptions = (c: Command) =>
    c
      .argument("<image>", "REPOSITORY:TAG or REPOSITORY@DIGEST (a registry host in front is ignored)")
      .option("-c, --config <file>", "configuration file (YAML or JSON); also DRYDOCK_CONFIG")
      .option("-d, --data <dir>", "data directory (default ./data)")
      .option(
        "--key <name>",
        "accept only this key of signatures.keys or Notation trust policy; repeatable",
        (v: string, prev: string[] = []) => [...prev, v],
      )
      .option("--json", "JSON output");
  signatureOptions(
    signatures
      .command("verify")
      .description("verify an image's signatures as the pull gate does (exit 0 verified, 1 not)"),
  ).action(async (image: string, opts: SignaturesOptions) =>
    (await import("./signatures.js")).signaturesVerify(image, opts),
  );
  signatureOptions(
    signatures
      .command("attestations")
      .description("list Drydock's signed scan results of an image that verify with signatures.keys"),
  ).action(async (image: string, opts: SignaturesOptions) =>
    (await import("./signatures.js")).signaturesAttestations(image, opts),
  );

  // Scoped exceptions: SUPPRESS filters with an owner, a reason and an expiry (docs/vex-and-exceptions.md).
  const exceptions = program
    .command("exceptions")
    .description("scoped exceptions (accepted findings with reason, owner, expiry) and VEX referrers; admin");
  const storeOptions = (c: Command) =>
    c
      .option("-c, --config <file>", "configuration file (YAML or JSON); also DRYDOCK_CONFIG")
      .option("-d, --data <dir>", "data directory (default ./data)")
      .option("--json", "JSON lines");
  storeOptions(
    exceptions
      .command("add")
      .description("accept findings in a scope until a date: they turn SUPPRESSED, with an audit event")
      .option("--name <name>", "a unique name (default exception-<time>)")
      .option("--reason <text>", "why the findings are accepted (required)")
      .option("--owner <who>", "who answers for it (required)")
      .option("--expires <date>", "YYYY-MM-DD (through that day, UTC) or an RFC 3339 time (required)")
      .option(
        "--repository <pattern>",
        "repository name or pattern (** any segments, * within one); repeatable",
        (v: string, prev: string[] = []) => [...prev, v],
      )
      .option("--image <digest>", "only this image (sha256:...)")
      .option("--package <name>", "only this package")
      .option(
        "--package-version <version>",
        "only this version (as Inspector shows it: no epoch, no release)",
      )
      .option("--vulnerability <id>", "only this vulnerability (CVE-..., GHSA-...)"),
  ).action(async (opts: AddOptions) => (await import("./exceptions.js")).exceptionsAdd(opts));
  storeOptions(
    exceptions
      .command("list")
      .description("every exception and SUPPRESS filter, with scope, owner and expiry")
      .option("--expired", "only those whose expiry has come (they no longer suppress)"),
  ).action(async (opts: ExceptionsOptions & { expired?: boolean }) =>
    (await import("./exceptions.js")).exceptionsList(opts),
  );
  storeOptions(
    exceptions
      .command("remove")
      .description("remove an exception (its findings are ACTIVE again)")
      .argument("<name>"),
  ).action(async (name: string, opts: ExceptionsOptions) =>
    (await import("./exceptions.js")).exceptionsRemove(name, opts),
  );
  storeOptions(
    exceptions
      .command("vex")
      .description("the VEX documents pushed as referrers: APPLIED, or INVALID with the reason")
      .option("--repository <name>", "only this repository"),
  ).action(async (opts: ExceptionsOptions & { repository?: string }) =>
    (await import("./exceptions.js")).exceptionsVex(opts),
  );

  const events = program
    .command("events")
    .description(
      "the registry's event log (ECR Image Action, ECR Image Scan, Inspector2 Scan and Finding, Drydock Suppression Change)",
    );
  events
    .command("tail")
    .description("print the latest events as JSON lines (EventBridge envelopes); safe while the server runs")
    .option("-c, --config <file>", "configuration file (YAML or JSON); also DRYDOCK_CONFIG")
    .option("-d, --data <dir>", "data directory (default ./data)")
    .option("-n, --lines <n>", "how many of the latest events to print first", "20")
    .option("--after <seq>", "print every event after this sequence number instead of the last -n")
    .option("-f, --follow", "keep printing new events as they are written")
    .option("--interval <ms>", "how often --follow looks for new events", "500")
    .action(async (opts: TailOptions) => (await import("./events.js")).tail(opts));
  events
    .command("connection-secret")
    .description(
      "print a connection's Standard Webhooks signing secret (whsec_...), with which receivers verify deliveries",
    )
    .argument("<name>", "the connection's name (aws events create-connection --name)")
    .option("-c, --config <file>", "configuration file (YAML or JSON); also DRYDOCK_CONFIG")
    .option("-d, --data <dir>", "data directory (default ./data)")
    .option("--rotate", "make a new secret (the previous one still signs deliveries for a day) and print it")
    .action(async (name: string, opts: ConnectionSecretOptions) =>
      (await import("./events-connection.js")).connectionSecret(name, opts),
    );
  const dlq = events
    .command("dlq")
    .description("the dead-letter stores: deliveries whose target's retry policy gave up (docs/events.md)");
  const dlqFilters = (c: Command) =>
    c
      .option("-c, --config <file>", "configuration file (YAML or JSON); also DRYDOCK_CONFIG")
      .option("-d, --data <dir>", "data directory (default ./data)")
      .option("--queue <name>", "one dead-letter store (the DeadLetterConfig ARN's name, or default)")
      .option("--bus <name>", "the rule's event bus")
      .option("--rule <name>", "one rule's dead letters")
      .option("--target <id>", "one target's dead letters")
      .option("--since <time>", "dead-lettered at or after this time (ISO 8601)");
  dlqFilters(dlq.command("list").description("list dead letters, oldest first"))
    .option("--limit <n>", "at most this many", "100")
    .option("--json", "one JSON object per line, with the event")
    .action(async (opts: DlqOptions) => (await import("./events-dlq.js")).dlqList(opts));
  dlqFilters(
    dlq
      .command("redrive")
      .description("queue the selected dead letters for delivery again (a running server sends them)"),
  ).action(async (opts: DlqOptions) => (await import("./events-dlq.js")).dlqRedrive(opts));

  const policy = program
    .command("policy")
    .description("the pull policy of the registry's pull gate and admission webhook (docs/policy.md)");
  const policyOpts = (c: Command) =>
    c
      .option("-c, --config <file>", "configuration file (YAML or JSON); also DRYDOCK_CONFIG")
      .option("-d, --data <dir>", "data directory (default ./data)");
  policyOpts(
    policy
      .command("get")
      .description("print the effective pull policy (JSON): the stored one, else the configuration's"),
  ).action(async (opts: PolicyOptions) => (await import("./policy.js")).policyGet(opts));
  policyOpts(
    policy
      .command("set")
      .description(
        "validate a pull policy (JSON or YAML) and store it: it overrides the configuration's on every node",
      )
      .argument("[file]", "the policy document (default or -: standard input)"),
  )
    .option("--expected-version <n>", "store only over this version (0: only if none was set)")
    .option("--by <name>", "who made the change, as recorded (default cli:<user>)")
    .action(async (file: string | undefined, opts: PolicyOptions) =>
      (await import("./policy.js")).policySet(file, opts),
    );
  policyOpts(
    policy.command("reset").description("remove the stored pull policy: the configuration's applies again"),
  )
    .option("--by <name>", "who made the change, as recorded (default cli:<user>)")
    .action(async (opts: PolicyOptions) => (await import("./policy.js")).policyReset(opts));

  return program;
}

async function run(): Promise<void> {
  try {
    await buildCli().parseAsync(process.argv);
  } catch (e) {
    const { code, message } = exitFor(e);
    if (message !== undefined) process.stderr.write(`drydock: ${message}\n`);
    process.exit(code);
  }
}

void run();
