import { z } from "zod";
import { policySectionSchema } from "../policy/gate/document.js";

/**
 * The one configuration schema: every option, its default and its meaning. Values come
 * from (lowest to highest precedence) these defaults, the config file (YAML or JSON),
 * DRYDOCK_* environment variables, and command-line flags. See docs/configuration.md.
 */
/**
 * What an access rule allows: `pull`, `push`, `delete` on the repositories its pattern matches;
 * `admin`, registry-wide configuration through the AWS APIs (scanning rules, and later filters,
 * event rules, policies), only in a rule whose repository is `**` (src/auth/rules.ts, docs/access.md).
 */
const action = z.enum(["pull", "push", "delete", "admin"]);

export const accessRuleSchema = z.object({
  /** Repository pattern: `*` matches any characters except `/`, `**` any characters. */
  repository: z.string().min(1),
  actions: z.array(action).min(1),
});

export const userSchema = z.object({
  username: z.string().min(1),
  /** bcrypt hash (`$2a$`/`$2b$`/`$2y$`), e.g. from `drydock hash-password` or `htpasswd -B`. */
  passwordHash: z.string().regex(/^\$2[aby]\$\d\d\$/, "must be a bcrypt hash (drydock hash-password)"),
  access: z.array(accessRuleSchema).default([]),
});

export const configSchema = z.object({
  /** HOST:PORT to listen on. Anything but loopback requires auth.users. */
  listen: z.string().default("127.0.0.1:5000"),
  /** Data directory (its layout: src/storage/paths.ts). */
  data: z.string().default("./data"),
  /** pino level: fatal, error, warn, info, debug, trace, silent. */
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** External base URL (https://registry.example.com) for token realms when behind a proxy. */
  publicUrl: z.string().url().optional(),
  /**
   * HTTPS on the listener: a PEM certificate (chain) and its unencrypted PEM key, both or
   * neither. Either file changing is picked up without a restart (a broken pair is logged
   * and the one in use kept). Listening beyond loopback still requires auth.users.
   */
  tls: z
    .object({
      /** The certificate, then any intermediates (e.g. Let's Encrypt's fullchain.pem). */
      certFile: z.string().min(1).optional(),
      /** The private key of that certificate (e.g. privkey.pem). */
      keyFile: z.string().min(1).optional(),
    })
    .refine((t) => (t.certFile === undefined) === (t.keyFile === undefined), {
      message: "tls.certFile and tls.keyFile must be set together (both or neither)",
    })
    .prefault({}),
  /**
   * What this process runs: `all` (the embedded default: registry, APIs and background work),
   * `api` (registry and AWS APIs only) or `worker` (scans and other background jobs only).
   */
  role: z.enum(["all", "api", "worker"]).default("all"),
  /** Where metadata and blobs live (docs/storage.md). Absent: SQLite and files in the data directory. */
  storage: z
    .object({
      meta: z
        .object({
          /** `postgres://user:pass@host:port/db`: metadata on PostgreSQL (a cluster). */
          url: z
            .string()
            .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL")
            .optional(),
          /** Connections per process in the PostgreSQL pool. */
          maxConnections: z.number().int().positive().default(10),
        })
        .prefault({}),
      blobs: z
        .object({
          /** `s3://BUCKET[/PREFIX]`: blobs in an S3-compatible object store. */
          url: z
            .string()
            .regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/, "must be s3://BUCKET[/PREFIX]")
            .optional(),
          /** The S3 endpoint (radosgw, MinIO, ...); absent = AWS for the region. */
          endpoint: z.string().url().optional(),
          region: z.string().default("us-east-1"),
          /** Path-style addressing (`endpoint/bucket/key`), which most S3-compatible servers need. */
          forcePathStyle: z.boolean().default(true),
          /** Static credentials; absent = the standard AWS chain (environment, ~/.aws, instance role). */
          accessKeyId: z.string().min(1).optional(),
          secretAccessKey: z.string().min(1).optional(),
          /** Blob GETs answer 307 to a presigned URL instead of streaming through the node. */
          redirect: z.boolean().default(false),
        })
        .prefault({}),
    })
    .prefault({}),
  registry: z
    .object({
      maxManifestBytes: z
        .number()
        .int()
        .positive()
        .default(4 * 1024 * 1024),
      createRepositoryOnPush: z.boolean().default(true),
    })
    .prefault({}),
  gc: z
    .object({
      /** Run online garbage collection every N minutes; 0 disables the schedule. */
      intervalMinutes: z.number().nonnegative().default(60),
      /** Unreferenced blobs younger than this are kept (protects pushes in progress). */
      gracePeriodMinutes: z.number().nonnegative().default(60),
      /** Upload sessions idle for longer than this are removed. */
      uploadExpiryMinutes: z
        .number()
        .positive()
        .default(24 * 60),
    })
    .prefault({}),
  /** ECR lifecycle policies (docs/lifecycle.md): how often every repository's policy runs. */
  lifecycle: z
    .object({
      /** Run the lifecycle policies every N hours (ECR: within 24 h); 0 disables the schedule. */
      intervalHours: z.number().nonnegative().default(24),
    })
    .strict()
    .prefault({}),
  /** Image analysis (inventories): limits that bound what a hostile layer can cost. */
  analysis: z
    .object({
      /** Largest decompressed size of one layer (a gzip bomb stops here). */
      maxLayerBytes: z
        .number()
        .int()
        .positive()
        .default(16 * 1024 ** 3),
      /** Most entries in one layer tar. */
      maxLayerEntries: z.number().int().positive().default(2_000_000),
      /** Largest single file handed to a cataloger (read into memory). */
      maxFileBytes: z
        .number()
        .int()
        .positive()
        .default(512 * 1024 ** 2),
      /** Largest archive nested in another (jar in a jar) read into memory. */
      maxNestedArchiveBytes: z
        .number()
        .int()
        .positive()
        .default(256 * 1024 ** 2),
      /** Layers read at the same time; 0 = the number of cores. */
      concurrency: z.number().int().nonnegative().default(0),
    })
    .prefault({}),
  auth: z
    .object({
      users: z.array(userSchema).default([]),
      /** Lifetime of bearer tokens issued by /token. */
      tokenTtlSeconds: z.number().int().positive().default(300),
      /** HMAC key for tokens; generated into DATA/token.key when absent. */
      tokenSecret: z.string().min(32).optional(),
      /** `service` value of the Bearer challenge. */
      service: z.string().default("drydock"),
    })
    .prefault({}),
  /** The AWS-compatible control-plane APIs on the registry's port (docs/ecr-api.md). */
  aws: z
    .object({
      /** The 12-digit account id in ARNs, registry ids and repository URIs. */
      accountId: z
        .string()
        .regex(/^[0-9]{12}$/, "must be 12 digits")
        .default("000000000000"),
      /** The region in ARNs and URIs (requests signed for any region are accepted). */
      region: z
        .string()
        .regex(/^[a-z]{2}(-[a-z]+)+-[0-9]+$/, "must look like us-east-1")
        .default("us-east-1"),
      /**
       * Access keys for SigV4. Empty: the APIs are open on loopback (any signature) and
       * refused when auth.users is configured. `user` names the auth.users entry whose access
       * rules apply to `docker login -u AWS` with a GetAuthorizationToken password; required
       * when auth.users is configured. Secrets are never logged.
       */
      credentials: z
        .array(
          z.object({
            accessKeyId: z
              .string()
              .regex(/^[A-Z0-9]{16,128}$/, "must be 16-128 upper-case letters or digits"),
            secretAccessKey: z.string().min(16),
            user: z.string().min(1).optional(),
          }),
        )
        .default([]),
      /** Lifetime of GetAuthorizationToken passwords (ECR: 12 hours). */
      loginTokenTtlSeconds: z
        .number()
        .int()
        .positive()
        .default(12 * 3600),
    })
    .prefault({}),
  /** The vulnerability database (`drydock db …`; docs/vulndb.md). */
  vulndb: z
    .object({
      /** The database file; default DATA/vulndb/vulndb.sqlite. */
      path: z.string().min(1).optional(),
      /**
       * Where `drydock db update` reads feeds: a base URL or a directory laid out by mirror path
       * (`osv/Go/all.zip`, …). Default: each feed's official upstream URL.
       */
      mirror: z.string().min(1).optional(),
      /** `drydock db status` warns when the database was built longer ago than this. */
      maxAgeHours: z.number().positive().default(24),
      /** Per-file download timeout of `drydock db update` and of the scheduled updates. */
      fetchTimeoutSeconds: z.number().positive().default(600),
      /**
       * `drydock serve` updates the database every N hours (as `drydock db update` does, from
       * `mirror` or the official feeds), on one background node of a cluster at a time (under a
       * lease), which publishes the new build to the workers; 0 turns it off. At most 576 (24
       * days, the longest a timer waits).
       */
      updateIntervalHours: z
        .number()
        .nonnegative()
        .max(24 * 24)
        .default(6),
      /**
       * In a cluster, how often a worker looks for a newer database published by
       * `drydock db import|update` (docs/cluster.md).
       */
      syncIntervalSeconds: z.number().positive().default(60),
    })
    .prefault({}),
  /** The registry's scan queue (`drydock serve`; docs/scanning-server.md). */
  scan: z
    .object({
      /** Images scanned at the same time; 0 = the number of cores. */
      concurrency: z.number().int().nonnegative().default(0),
      /** Attempts of a scan that fails with a transient error before it is FAILED. */
      maxAttempts: z.number().int().positive().default(5),
      /** First retry delay; doubled per attempt (with jitter), capped at 5 minutes. */
      retryBaseMs: z.number().int().positive().default(1000),
      /** A running job's claim; renewed while it runs, so a crashed worker's job is retried after it. */
      leaseSeconds: z.number().positive().default(60),
      /** How often an idle worker looks for jobs written by another process. */
      pollIntervalMs: z.number().int().positive().default(1000),
      /**
       * Images per re-match job after a vulnerability database change: each job matches and
       * commits its images (findings and events) in one transaction; smaller jobs spread over
       * more workers and hold shorter transactions.
       */
      rematchChunkSize: z.number().int().positive().max(10_000).default(500),
    })
    .prefault({}),
  /** The web console (docs/console.md). */
  console: z
    .object({
      /**
       * Scheduled reports of the dashboard and the open criticals, HTML and CSV through the blob
       * store, each announced by a `Drydock Report Ready` event (docs/console.md, "Reports").
       */
      reports: z
        .object({
          /** `off`, `daily` (covering the previous day) or `weekly` (the previous ISO week, written on Mondays). */
          schedule: z.enum(["off", "daily", "weekly"]).default("off"),
          /** The UTC hour of the day from which the period's report is written (0-23). */
          hourUtc: z.number().int().min(0).max(23).default(6),
          /** Open criticals listed in the HTML report (the CSV lists them all). */
          maxHtmlFindings: z.number().int().min(1).max(10_000).default(500),
        })
        .prefault({}),
    })
    .prefault({}),
  /** Finding retention and history (`drydock serve`; docs/scanning-server.md, src/findings/retention.ts). */
  findings: z
    .object({
      /**
       * Days a CLOSED finding is kept before it is purged (Inspector: 30). Findings closed because
       * their image was deleted or left the rescan window are kept 3 days, or this many when fewer.
       * 0 purges closed findings at the next hourly run. A finding matched again while kept is
       * ACTIVE again under the same ARN; after the purge it is a new finding (same ARN, new
       * firstObservedAt).
       */
      closedRetentionDays: z.number().int().nonnegative().default(30),
      /**
       * Days the finding history is kept: the open/closed intervals of every finding (after the
       * finding itself is purged) and the daily counts, for trends and time to remediate.
       */
      historyDays: z.number().int().positive().default(400),
    })
    .prefault({}),
  /**
   * Scoped exceptions (docs/vex-and-exceptions.md): findings accepted for a reason, by an owner,
   * until a date, within a scope (at least one of repositories, imageDigest, package,
   * vulnerability). `drydock serve` keeps them as the SUPPRESS filters `config/<name>`;
   * `drydock scan` applies them and reports the expired ones.
   */
  exceptions: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[A-Za-z0-9 _./:@-]{1,120}$/, "1-120 letters, digits, space and _ . / : @ -"),
        reason: z.string().min(1, "every exception needs a reason").max(512),
        owner: z.string().min(1, "every exception needs an owner").max(256),
        /** A day (YYYY-MM-DD: it suppresses through that day, UTC) or an RFC 3339 time. */
        expires: z
          .union([z.string(), z.date()])
          .transform((v) => (v instanceof Date ? v.toISOString().slice(0, 10) : v))
          .refine(
            (v) => !Number.isNaN(Date.parse(v)),
            "expires must be a date (YYYY-MM-DD) or an RFC 3339 time",
          ),
        /** Repository names or patterns (`prod/**`, `team/*`). */
        repositories: z.array(z.string().min(1)).optional(),
        imageDigest: z
          .string()
          .regex(/^sha256:[0-9a-f]{64}$/, "must be sha256:<64 hex>")
          .optional(),
        package: z.string().min(1).optional(),
        /** As Inspector shows it (vulnerablePackages.version: no epoch, no release for deb/rpm/apk). */
        packageVersion: z.string().min(1).optional(),
        vulnerability: z.string().min(1).optional(),
      }),
    )
    .default([])
    .refine((l) => new Set(l.map((e) => e.name)).size === l.length, "exception names must be unique"),
  /**
   * Pull gates (docs/policy.md): rules per repository pattern, the first matching applies;
   * `drydock policy set` stores a document of the same shape that overrides this one.
   */
  policy: policySectionSchema.prefault({}),
  /** The Kubernetes admission webhook at /admission/v1/validate and /admission/v1/mutate (docs/policy.md). */
  admission: z
    .object({
      /**
       * Host names (with `:port` unless 443) under which images of this registry are referenced
       * (`registry.example.com/prod/api:1`); publicUrl's host and the listen address are added.
       */
      registryHosts: z.array(z.string().min(1)).default([]),
      /** Images of any other registry: allowed (the policy cannot judge them) or denied. */
      otherRegistries: z.enum(["allow", "deny"]).default("allow"),
      /**
       * How long a review waits for the scan of an unscanned image (requireScan) before denying
       * with "scan in progress" (the API server's webhook timeout is at most 30 s, 10 by default).
       */
      scanWaitSeconds: z.number().int().nonnegative().max(25).default(5),
    })
    .strict()
    .prefault({}),
  /** The event bus (`drydock serve`; docs/events.md): delivery of events to rule targets. */
  events: z
    .object({
      /**
       * Local command targets (`arn:drydock:command:<region>:<account>:<name>`): the program
       * and its arguments, run with the event (or the target's input) on standard input, never
       * through a shell; a non-zero exit or the timeout is a failed attempt (retried).
       */
      commands: z
        .record(
          z.string().regex(/^[.\-_A-Za-z0-9]{1,64}$/),
          z.object({
            argv: z.array(z.string()).min(1),
            timeoutSeconds: z.number().positive().max(3600).default(30),
          }),
        )
        .default({}),
      /** Deliveries sent at the same time by one process. */
      concurrency: z.number().int().positive().max(1000).default(64),
      /**
       * How often an idle delivery worker looks for deliveries anyway. Those of another process
       * wake it at their commit (storage/meta/signals.ts), its own at once, retries when due:
       * this poll only makes up for a lost signal.
       */
      pollIntervalMs: z.number().int().positive().default(2000),
      /** The first retry's delay; doubled per attempt with full jitter, capped at maxBackoffSeconds. */
      retryBaseMs: z.number().int().positive().default(1000),
      /** The longest wait between two attempts (also the cap on a Retry-After). */
      maxBackoffSeconds: z.number().positive().default(300),
      /** An HTTP target's timeout per attempt (EventBridge API destinations: 5 s). */
      httpTimeoutSeconds: z.number().positive().max(300).default(5),
      /** A claimed delivery's lease: after it, a crashed process's deliveries are retried. */
      leaseSeconds: z.number().positive().default(60),
    })
    .prefault({}),
  /** Image signatures: trusted keys, trust per repository, Notation, attestations (docs/signatures.md). */
  signatures: z
    .object({
      /**
       * Named public keys (PEM SPKI "PUBLIC KEY": ECDSA P-256, Ed25519 or RSA), inline or a file
       * path. A key that does not parse is a configuration error at start.
       */
      keys: z
        .record(z.string().regex(/^[.\-_A-Za-z0-9]{1,64}$/), z.object({ publicKey: z.string().min(1) }))
        .default({}),
      /** Which keys a repository's signatures are checked against when a policy names none. */
      trust: z
        .array(
          z.object({
            repositories: z.array(z.string().min(1)).min(1),
            keys: z.array(z.string()).default([]),
          }),
        )
        .default([]),
      /**
       * cosign's `docker-reference` claim: `repository` (its path, host and tag ignored, must be the
       * image's repository) or `ignore` (what `cosign verify` does).
       */
      identity: z.enum(["repository", "ignore"]).default("repository"),
      /** Notation: X.509 trust stores (`ca:NAME`) and trust policies (trustpolicy.json's shape). */
      notation: z
        .object({
          /** Named stores of CA certificates (PEM, inline or a file path; a file may hold several). */
          trustStores: z
            .record(z.string().regex(/^[.\-_A-Za-z0-9]{1,64}$/), z.array(z.string().min(1)).min(1))
            .default({}),
          trustPolicies: z
            .array(
              z.object({
                name: z.string().regex(/^[.\-_A-Za-z0-9]{1,64}$/),
                /** Repository patterns (`**`, `*`), or `*` alone for every repository. */
                registryScopes: z.array(z.string().min(1)).min(1),
                signatureVerification: z.object({ level: z.enum(["strict", "permissive", "audit", "skip"]) }),
                trustStores: z.array(z.string().regex(/^ca:[.\-_A-Za-z0-9]{1,64}$/)).default([]),
                /** `*`, or `x509.subject: C=US, O=Acme, CN=signer` (every listed attribute must match). */
                trustedIdentities: z.array(z.string().min(1)).default([]),
              }),
            )
            .default([]),
        })
        .prefault({}),
      /** Verdicts are cached this long (a push through this process also drops them at once). */
      cacheSeconds: z.number().nonnegative().max(3600).default(10),
      /** Drydock signs each completed scan's result and attaches it as a referrer (in-toto, cosign vuln predicate). */
      attest: z
        .object({
          enabled: z.boolean().default(false),
          /** The signing key: PKCS#8 PEM ("PRIVATE KEY", unencrypted; ECDSA P-256, Ed25519 or RSA), inline or a path. */
          privateKey: z.string().min(1).optional(),
        })
        .refine((a) => !a.enabled || a.privateKey !== undefined, {
          message: "signatures.attest.privateKey is required when attest is enabled",
        })
        .prefault({}),
    })
    .prefault({}),
});

export type Config = z.infer<typeof configSchema>;
export type UserConfig = z.infer<typeof userSchema>;
export type AwsCredentialConfig = Config["aws"]["credentials"][number];
export type AccessRule = z.infer<typeof accessRuleSchema>;
export type Action = z.infer<typeof action>;
