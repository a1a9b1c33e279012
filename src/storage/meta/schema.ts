import type { Generated } from "kysely";

/**
 * The metadata schema, described once here (migrations in ./migrations.ts create it).
 * Times are epoch milliseconds. Digests are `algorithm:hex` strings.
 *
 * repositories          one row per repository name (`team/app/api`).
 * blobs                 every complete blob the store holds, once per digest, whatever the
 *                       repositories; `last_used_at` is refreshed by uploads, mounts and
 *                       existence checks so that GC spares blobs a push is about to reference.
 * repository_blobs      blob links: a blob is readable in a repository only when linked there
 *                       (uploaded, mounted, or referenced by one of its manifests).
 * manifests             manifests and indexes per repository. The bytes live in the blob store
 *                       under the same digest. `subject`/`artifact_type` feed the referrers API;
 *                       `annotations` is the manifest's annotations JSON (for referrer descriptors);
 *                       `last_pulled_at` the last recorded pull (ECR's lastRecordedPullTime, the
 *                       rescan window's pull date), added by migration 0005; `last_pushed_at` the
 *                       last PutManifest of the digest (the first push, a push again of the same
 *                       content, or a push of an index that lists it), the rescan window's push
 *                       date (0009; `created_at` stays the first push, ECR's imagePushedAt).
 * manifest_references   what each manifest references: its config and layers (kind 'blob'),
 *                       the manifests of an index (kind 'manifest'). GC marks from here.
 * tags                  tag → manifest digest, per repository.
 * uploads               open upload sessions (their bytes are in the blob store's upload area);
 *                       `lease_token`/`lease_until`: the one request (on any node) working on it.
 * repository_settings   per-repository settings (src/settings): scan_on_push (0/1),
 *                       image_tag_mutability (MUTABLE, IMMUTABLE, *_WITH_EXCLUSION), and JSON
 *                       texts of the tag-mutability exclusion filters, encryption configuration
 *                       and resource tags. No row = the defaults (a repository created by a
 *                       push); the creation time is repositories.created_at. (Named
 *                       ecr_repository_settings before migration 0004.)
 * scan_settings         registry-wide settings by key (`registry`: the scanning configuration JSON).
 * image_scans           the scan state of an image (one row per repository and manifest digest);
 *                       indexed by (scan_type, status) since 0009 (the rescan window's run finds
 *                       the ACTIVE ENHANCED images there).
 * findings              one row per finding (Inspector's lifecycle, src/findings): identity =
 *                       (repository, digest, scan type, vulnerability id, package name, package
 *                       path), `id` = the first 32 hex digits of the sha256 of that identity (the
 *                       finding ARN's suffix, stable across re-matches); `status` ACTIVE,
 *                       SUPPRESSED or CLOSED; `severity` as the scan type reports it; first/last
 *                       observed, updated and closed times; `json` the finding's own part (package,
 *                       fix, match explanation, EPSS/KEV) and `details_hash` the shared part in
 *                       finding_details. Replaced `scan_findings` in migration 0005 (carried over).
 *                       `closed_reason` (0007) says why a CLOSED finding closed, which decides how
 *                       long it is kept (src/findings/retention.ts): `fixed` (a match no longer
 *                       finds it: advisory withdrawn or corrected; 30 days), `deleted` (its image
 *                       was deleted) or `ineligible` (its image left the rescan window; both 3 days).
 *                       Indexes (0010): by image (covering the counted columns), by package and by
 *                       vulnerability each in last-observed and in severity order, by status and
 *                       severity (with last_observed_at; and with id), by first observation.
 * finding_details       the vulnerability text of findings (title, description, CVSS, references),
 *                       stored once per distinct content (sha256 of the JSON): a CVE that hits
 *                       50,000 images is written once, not 50,000 times.
 *                       Rows no finding references any more are purged (retention.ts).
 * finding_intervals     the history of every finding's exposure, kept after the finding is purged
 *                       (0007): one row per period a finding was open (ACTIVE or SUPPRESSED):
 *                       `finding_id` (findings.id, no foreign key: the row outlives it),
 *                       repository, scan type, `severity` (the last while open), `opened_at`
 *                       (created or reopened), `closed_at` and `closed_reason` (null while open).
 *                       A reopened finding gets a new row. Written by FindingStore.put in the
 *                       transaction of the finding's change; at most one open row per finding
 *                       (partial unique index). Closed rows are purged after findings.historyDays.
 * finding_snapshots     the daily counts of findings (0007): one row per UTC day (`YYYY-MM-DD`),
 *                       repository, scan type, severity and status with `count`; taken once a day
 *                       (a second snapshot of the same day replaces it), kept findings.historyDays.
 *                       Neither history table references repositories: a deleted repository's
 *                       past stays in the trends.
 * inventory_segments    the packages of an image's merged inventory, grouped by the layer that
 *                       brought them: a segment is such a group, stored once per distinct content
 *                       (`hash`), so images on a shared base stack share its segments.
 *                       `last_used_at` (0007) is refreshed, at most every 30 minutes, when a scan
 *                       stores an image that uses the segment; segments no image uses are purged
 *                       once unused for an hour (retention.ts), so a scan reusing one is never raced.
 * segment_packages      the packages of a segment (`json` the Package, catalog/types.ts).
 * segment_keys          match key → segment: which segments hold a package looked up under a key
 *                       (`<ecosystem key> <name>`, src/match); with image_segments it answers
 *                       "which images contain package P" in one indexed join.
 * image_inventories     one row per analysed image: its distro (JSON) and when it was analysed.
 * image_segments        the segments of each analysed image.
 * jobs                  the durable job queue (src/jobs): `kind` names the handler, `key` what the
 *                       job is about (e.g. `12@sha256:…` for a scan) so that pending work can be
 *                       found and dropped, `payload` its JSON. A claim sets `lease_until` and a
 *                       fresh `lease_token`; renewals and completion only succeed with the token
 *                       (lease-fenced), so a worker whose lease was taken over cannot commit.
 *                       Replaced `scan_jobs` in migration 0004 (its rows were carried over).
 * event_log             the durable event log. `seq` is assigned from counters('event_log') in the
 *                       appending transaction, whose row lock serializes appenders: seq order is
 *                       commit order, so a reader's `seq > cursor` never skips a late commit.
 *                       `bus` (0011) the event bus it was put on (`default` unless named).
 * counters              named monotonic counters (console_rollup (0016): the last UTC day, in days
 *                       since the epoch, that the console's rollup summed after it ended; event_log;
 *                       findings_daily: the last UTC day, in
 *                       days since the epoch, whose daily finding-retention pass ran;
 *                       event_rules (0011): moved by every change of the bus's rules, targets,
 *                       archives, connections, API destinations or buses, so every process's
 *                       compiled routing table notices a change made on any node).
 * leases                named leases held by one process at a time (singletons: GC, database
 *                       updates); `holder` is the process id, `expires_at` the end of the lease.
 * inspector_filters     Inspector2 filters (src/findings/inspector-backend.ts): `id` the 16 hex digits
 *                       ending the filter's ARN, `name` unique, `action` SUPPRESS or NONE, `criteria`
 *                       the FilterCriteria JSON as given (dates in epoch seconds), `expires_at` the
 *                       `drydock:expires-at` tag as epoch ms (null: none) and `expired` 1 once the
 *                       expiry was applied (the filter stops suppressing). Added by migration 0006,
 *                       with the index findings(scan_type, first_observed_at, id) for ListFindings'
 *                       default order.
 * inspector_filter_tags the tags of a filter (key, value), removed with it.
 * inspector_reports     Inspector2 findings reports and SBOM exports (0008; src/findings/reports/):
 *                       `id` the report id (UUID), `kind` FINDINGS or SBOM, `format` CSV, JSON,
 *                       CYCLONEDX_1_4 or SPDX_2_3, `criteria` the request's filter criteria JSON
 *                       (null: none), the destination (`bucket`, `key_prefix`, `kms_key_arn` as
 *                       given), `location` the blob-store key of the report, or the key prefix of
 *                       the export's files; `status` IN_PROGRESS, SUCCEEDED, FAILED or CANCELLED
 *                       with `error_code`/`error_message`, `items` (findings or SBOMs written),
 *                       `created_by` (the caller's ARN) and created/updated/completed times. The
 *                       work is a job (kind inspector2-report, key = the id). A partial unique
 *                       index allows one FINDINGS report IN_PROGRESS at a time.
 * layer_inventories     the layer-inventory cache shared by every worker: key = sha256 of (diffID,
 *                       analyzer versions, limits), `json` the LayerInventory.
 *
 * The EventBridge-compatible bus (0011; BusStore and DeliveryStore, src/events):
 * event_buses           named buses beside `default` (which is not stored): name, description.
 * event_rules           rules, key (bus, name): `event_pattern` the pattern's JSON text as given
 *                       (null: a schedule-only rule), `schedule_expression` rate(...)/cron(...),
 *                       `state` ENABLED/DISABLED/..., description, role ARN, `created_by`.
 * event_targets         the targets of a rule, key (bus, rule, id): `arn` (indexed with bus and
 *                       rule, for ListRuleNamesByTarget) and `json` the whole AWS Target object.
 * event_connections     connections by name: `authorization_type`, `auth_parameters` the
 *                       AuthParameters JSON as given (secrets included), state and reason,
 *                       `signing_secret` the Standard Webhooks `whsec_` secret, and the one
 *                       before the last rotation (`previous_signing_secret`, `rotated_at`).
 * event_api_destinations API destinations by name: connection, endpoint URL, HTTP method,
 *                       `invocation_rate_limit_per_second`, state.
 * event_archives        archives by name: the bus they keep, optional pattern, retention days
 *                       (0 = forever), state.
 * event_archive_events  what an archive holds: (archive, seq) → the event's time and size (the
 *                       envelope stays in event_log); written in the event's transaction;
 *                       indexed by (archive, time) for replays' ranges and the retention purge.
 * event_replays         replays by name: archive, `destination` JSON ({Arn, FilterArns}), the
 *                       event time range, state and reason, replay start/end, the last event
 *                       replayed's time, and `cursor`, the seq of the last archived event replayed.
 * event_tags            resource tags of the bus's resources: (arn, key) → value.
 * event_schedules       scheduled rules' last firing, key (bus, rule): `fired_at`, moved by compare
 *                       and set so that one of several schedulers emits each firing.
 * event_deliveries      pending deliveries, one per (event, matched rule target): `event_seq` the
 *                       event in event_log, `event_json` the envelope when it differs (a replay),
 *                       `event_time`, `run_after` the next attempt's time, `attempts` (claims),
 *                       `lease_token`/`lease_until` the worker holding it. A claim moves
 *                       `run_after` to the lease's end, so the index (run_after, id) alone finds
 *                       due and lease-expired rows. Deleted once delivered or dead-lettered.
 * event_dead_letters    deliveries given up (AUTOINCREMENT id, pages go by it): `queue` the
 *                       dead-letter store's name, bus, rule, target id and ARN, the event's seq,
 *                       envelope and time, attempts, AWS's error code and message, `dead_at`.
 *
 * Lifecycle (0012; LifecycleStore, src/policy/lifecycle, docs/lifecycle.md):
 * lifecycle_policies    the ECR lifecycle policy of a repository (PutLifecyclePolicy): `policy_text`
 *                       as given (validated), `updated_at`, `last_evaluated_at` the end of the last
 *                       run that evaluated it (null: never). Deleted with the repository.
 * lifecycle_previews    the last preview of a repository (StartLifecyclePolicyPreview): the
 *                       `policy_text` previewed, `status` IN_PROGRESS, COMPLETE or FAILED (`error`
 *                       why), `token` naming this preview (the job that computes it writes its
 *                       results only while the token is current), created/updated times.
 * lifecycle_preview_results what the preview would expire: (repository, digest) → the image's
 *                       tags (JSON array) and `tagged` (0/1, for the tagStatus filter), its push
 *                       time and the rule (`rule_priority`). Replaced by each preview.
 *
 * Policy (0013; PolicyStore, src/policy):
 * policy_documents      named policy documents set at run time (`pull`: the pull policy of
 *                       `drydock policy set`, which overrides the configuration's `policy`
 *                       section once set): `json` the validated document, `version` moved by
 *                       every put (processes cache the compiled policy by it), who and when.
 *
 * VEX (0014; VexStore, src/findings/vex, docs/vex-and-exceptions.md):
 * vex_documents         the VEX documents pushed as referrers, one row per (repository, referrer
 *                       digest, image digest): the image is the referrer's subject, and each
 *                       platform manifest of a subject index. `format` openvex or cyclonedx,
 *                       `status` APPLIED (its `statements` JSON, the normalized VexStatement[],
 *                       decide the image's findings) or INVALID (stored by the push, never
 *                       applied: `error` says why, `statements` null). Indexed by image; deleted
 *                       with the referrer. Scoped exceptions are not a table: they are SUPPRESS
 *                       filters (inspector_filters) with `drydock:*` tags (src/findings/exceptions.ts).
 *
 * Finding counts (0015; storage/meta/finding-counts.ts, maintained by FindingStore):
 * image_finding_counts  how many open findings (ACTIVE, SUPPRESSED; CLOSED are not counted) an
 *                       image has, by (scan type, status, severity): key (repository, digest, scan
 *                       type, status, severity) → `count`. Moved by every change of a finding in
 *                       the change's transaction; a row may hold 0. Deleted with the repository.
 * repository_finding_counts the same per repository (the sums of its images' rows), indexed by
 *                       (scan type, status, severity, count) for the console's sort by severity.
 *
 * Finding totals (0017; finding-counts.ts, maintained with the counts above):
 * image_finding_totals  the same counts as one row per (repository, digest, scan type, status):
 *                       `n_all` (every severity), `n_critical`, `n_high`, `n_medium`, and the
 *                       repository's name (names are never changed); a row whose n_all falls to
 *                       0 is deleted. Indexed by (scan type, status, n_all | n_critical | n_high,
 *                       repository name, digest; code-unit order, `collate "C"` on PostgreSQL):
 *                       the account-wide aggregation by image is a page of one index. Deleted
 *                       with the repository.
 * repository_finding_totals the same per (repository, scan type, status), with `n_images` (how
 *                       many of its images have a row above); may hold zeros.
 *
 * Console (0016; ConsoleStore, src/console, docs/console.md):
 * console_daily         the dashboard's daily rollup of the finding history, one row per (UTC day,
 *                       repository, scan type, severity); `repository_id` 0 is every repository.
 *                       Rows of 0 carry the day's snapshot totals (`snapshot` 1 when the day has
 *                       one; `active`, `suppressed`) and the day's flows summed; per-repository
 *                       rows only the flows: `opened` (intervals opened that day), `fixed` (closed
 *                       for a remediated reason, fixed or deleted) and `fixed_ms` (the sum of their
 *                       open times, for the mean time to remediate). Rebuilt per day by the
 *                       console-rollup singleton (src/console/rollup.ts), which purges days older than
 *                       findings.historyDays.
 * console_vulnerabilities per vulnerability id with ACTIVE findings: affected `images`,
 *                       `repositories` and `findings`, the highest `severity`, EPSS, KEV (0/1) and
 *                       `priority` (EPSS x severity weight), as of `refreshed_at` (the rollup
 *                       rewrites them; rows it did not see again are deleted). Indexed for the
 *                       top by images and the priority queue (KEV first).
 * console_repository_vulnerabilities the same per (repository, vulnerability id): `images`,
 *                       `findings`, the highest `severity_rank` (5 CRITICAL ... 0 UNTRIAGED), EPSS
 *                       and KEV of its ACTIVE findings in that repository, as of `refreshed_at`.
 *                       The rollup counts them a few repositories at a time (the findings' image
 *                       index) and sums them into console_vulnerabilities; a restricted user's
 *                       open vulnerabilities are read from here by their repositories' ids.
 * console_reports       the console's reports (src/console/reports): `period` unique
 *                       (`daily:YYYY-MM-DD`, `weekly:YYYY-MM-DD` of the Monday, `manual:<id>`), so
 *                       one node of a cluster writes each scheduled report; `kind` scheduled or
 *                       manual, `status` IN_PROGRESS, SUCCEEDED or FAILED (`error`), the range
 *                       reported, the blob-store keys and sizes of the HTML and CSV objects,
 *                       `summary` JSON (counts shown in the list), who asked and when.
 */
export interface Database {
  repositories: {
    id: Generated<number>;
    name: string;
    created_at: number;
  };
  blobs: {
    digest: string;
    size: number;
    created_at: number;
    last_used_at: number;
  };
  repository_blobs: {
    repository_id: number;
    digest: string;
    created_at: number;
  };
  manifests: {
    repository_id: number;
    digest: string;
    media_type: string;
    artifact_type: string | null;
    subject: string | null;
    size: number;
    annotations: string | null;
    created_at: number;
    /** The last recorded pull (GET of the manifest, BatchGetImage); written at most hourly. */
    last_pulled_at: number | null;
    /** The last push of this digest (0009; null: `created_at`). */
    last_pushed_at: number | null;
  };
  manifest_references: {
    repository_id: number;
    parent: string;
    child: string;
    kind: "blob" | "manifest";
  };
  tags: {
    repository_id: number;
    name: string;
    digest: string;
    updated_at: number;
  };
  uploads: {
    id: string;
    repository_id: number;
    created_at: number;
    updated_at: number;
    /** The operation holding the session (a chunk being appended), and until when (0004). */
    lease_until: number | null;
    lease_token: string | null;
  };
  repository_settings: {
    repository_id: number;
    scan_on_push: number;
    image_tag_mutability: string;
    tag_mutability_exclusions: string | null;
    encryption: string | null;
    tags: string | null;
    updated_at: number;
  };
  scan_settings: {
    key: string;
    value: string;
    updated_at: number;
  };
  image_scans: {
    repository_id: number;
    digest: string;
    scan_type: "BASIC" | "ENHANCED";
    status: string;
    description: string | null;
    /** Epoch ms of the start of the latest scan (push, manual or continuous). */
    last_scan_at: number;
    completed_at: number | null;
    vulnerability_source_updated_at: number | null;
    /** JSON `{SEVERITY: count}` of the last completed scan. */
    severity_counts: string | null;
    updated_at: number;
  };
  findings: {
    id: string;
    repository_id: number;
    digest: string;
    scan_type: "BASIC" | "ENHANCED";
    vulnerability_id: string;
    package_name: string;
    package_path: string;
    status: "ACTIVE" | "SUPPRESSED" | "CLOSED";
    severity: string;
    fix_available: string;
    inspector_score: number | null;
    epss_score: number | null;
    exploit_available: number;
    first_observed_at: number;
    last_observed_at: number;
    updated_at: number;
    closed_at: number | null;
    /** Why a CLOSED finding closed (0007): fixed, deleted, ineligible; null while open. */
    closed_reason: string | null;
    json: string;
    details_hash: string;
  };
  finding_details: {
    hash: string;
    json: string;
  };
  finding_intervals: {
    id: Generated<number>;
    finding_id: string;
    repository_id: number;
    scan_type: "BASIC" | "ENHANCED";
    severity: string;
    opened_at: number;
    closed_at: number | null;
    closed_reason: string | null;
  };
  finding_snapshots: {
    day: string;
    repository_id: number;
    scan_type: "BASIC" | "ENHANCED";
    severity: string;
    status: string;
    count: number;
  };
  inventory_segments: {
    id: Generated<number>;
    hash: string;
    distro_key: string | null;
    package_count: number;
    created_at: number;
    /** When a stored image last took the segment (0007; refreshed at most every 30 minutes). */
    last_used_at: number;
  };
  segment_packages: {
    segment_id: number;
    seq: number;
    json: string;
  };
  segment_keys: {
    match_key: string;
    segment_id: number;
  };
  image_inventories: {
    repository_id: number;
    digest: string;
    distro: string | null;
    analyzed_at: number;
  };
  image_segments: {
    repository_id: number;
    digest: string;
    segment_id: number;
    position: number;
  };
  jobs: {
    id: Generated<number>;
    kind: string;
    key: string | null;
    payload: string;
    state: "queued" | "running" | "failed";
    attempts: number;
    run_after: number;
    lease_until: number | null;
    lease_token: string | null;
    last_error: string | null;
    created_at: number;
    updated_at: number;
  };
  event_log: {
    seq: number;
    id: string;
    time: number;
    source: string;
    detail_type: string;
    /** The whole EventBridge envelope as JSON. */
    json: string;
    /** The event bus (0011). */
    bus: Generated<string>;
  };
  counters: {
    name: string;
    value: number;
  };
  leases: {
    name: string;
    holder: string;
    expires_at: number;
  };
  inspector_filters: {
    id: string;
    name: string;
    action: string;
    criteria: string;
    description: string | null;
    reason: string | null;
    expires_at: number | null;
    expired: Generated<number>;
    created_at: number;
    updated_at: number;
  };
  inspector_filter_tags: {
    filter_id: string;
    key: string;
    value: string;
  };
  inspector_reports: {
    id: string;
    kind: string;
    format: string;
    criteria: string | null;
    bucket: string;
    key_prefix: string | null;
    kms_key_arn: string;
    location: string;
    status: string;
    error_code: string | null;
    error_message: string | null;
    items: number | null;
    created_by: string;
    created_at: number;
    updated_at: number;
    completed_at: number | null;
  };
  layer_inventories: {
    key: string;
    diff_id: string;
    json: string;
    created_at: number;
  };
  event_buses: {
    name: string;
    description: string | null;
    created_at: number;
    updated_at: number;
  };
  event_rules: {
    bus: string;
    name: string;
    event_pattern: string | null;
    schedule_expression: string | null;
    state: string;
    description: string | null;
    role_arn: string | null;
    created_by: string;
    created_at: number;
    updated_at: number;
  };
  event_targets: {
    bus: string;
    rule: string;
    id: string;
    arn: string;
    json: string;
  };
  event_connections: {
    name: string;
    description: string | null;
    authorization_type: string;
    auth_parameters: string;
    state: string;
    state_reason: string | null;
    signing_secret: string;
    previous_signing_secret: string | null;
    rotated_at: number | null;
    created_at: number;
    updated_at: number;
    last_authorized_at: number | null;
  };
  event_api_destinations: {
    name: string;
    description: string | null;
    connection_name: string;
    endpoint: string;
    http_method: string;
    invocation_rate_limit_per_second: number;
    state: string;
    created_at: number;
    updated_at: number;
  };
  event_archives: {
    name: string;
    bus: string;
    description: string | null;
    event_pattern: string | null;
    retention_days: number;
    state: string;
    created_at: number;
  };
  event_archive_events: {
    archive: string;
    seq: number;
    time: number;
    size: number;
  };
  event_replays: {
    name: string;
    description: string | null;
    archive: string;
    destination: string;
    event_start_time: number;
    event_end_time: number;
    state: string;
    state_reason: string | null;
    replay_start_time: number | null;
    replay_end_time: number | null;
    event_last_replayed_time: number | null;
    cursor: number;
  };
  event_tags: {
    arn: string;
    key: string;
    value: string;
  };
  event_schedules: {
    bus: string;
    rule: string;
    fired_at: number;
  };
  event_deliveries: {
    id: Generated<number>;
    bus: string;
    rule: string;
    target_id: string;
    event_seq: number;
    event_json: string | null;
    event_time: number;
    run_after: number;
    attempts: number;
    lease_until: number | null;
    lease_token: string | null;
    last_error: string | null;
    created_at: number;
  };
  event_dead_letters: {
    id: Generated<number>;
    queue: string;
    bus: string;
    rule: string;
    target_id: string;
    target_arn: string;
    event_seq: number;
    event_json: string;
    event_time: number;
    attempts: number;
    error_code: string;
    error_message: string;
    dead_at: number;
  };
  lifecycle_policies: {
    repository_id: number;
    policy_text: string;
    updated_at: number;
    last_evaluated_at: number | null;
  };
  lifecycle_previews: {
    repository_id: number;
    token: string;
    policy_text: string;
    status: string;
    error: string | null;
    created_at: number;
    updated_at: number;
  };
  lifecycle_preview_results: {
    repository_id: number;
    digest: string;
    image_tags: string;
    tagged: number;
    pushed_at: number;
    rule_priority: number;
  };
  policy_documents: {
    name: string;
    json: string;
    version: number;
    updated_by: string;
    updated_at: number;
  };
  image_finding_counts: {
    repository_id: number;
    digest: string;
    scan_type: string;
    status: string;
    severity: string;
    count: number;
  };
  repository_finding_counts: {
    repository_id: number;
    scan_type: string;
    status: string;
    severity: string;
    count: number;
  };
  image_finding_totals: {
    repository_id: number;
    digest: string;
    scan_type: string;
    status: string;
    repository_name: string;
    n_all: number;
    n_critical: number;
    n_high: number;
    n_medium: number;
  };
  repository_finding_totals: {
    repository_id: number;
    scan_type: string;
    status: string;
    n_all: number;
    n_critical: number;
    n_high: number;
    n_medium: number;
    n_images: number;
  };
  console_daily: {
    day: string;
    repository_id: number;
    scan_type: string;
    severity: string;
    snapshot: number;
    active: number;
    suppressed: number;
    opened: number;
    fixed: number;
    fixed_ms: number;
  };
  console_vulnerabilities: {
    vulnerability_id: string;
    images: number;
    repositories: number;
    findings: number;
    severity: string;
    epss_score: number | null;
    kev: number;
    priority: number;
    refreshed_at: number;
  };
  console_repository_vulnerabilities: {
    repository_id: number;
    vulnerability_id: string;
    images: number;
    findings: number;
    severity_rank: number;
    epss_score: number | null;
    kev: number;
    refreshed_at: number;
  };
  console_reports: {
    id: string;
    period: string;
    kind: string;
    status: string;
    range_from: number;
    range_to: number;
    html_key: string | null;
    csv_key: string | null;
    html_bytes: number | null;
    csv_bytes: number | null;
    summary: string | null;
    error: string | null;
    created_by: string;
    created_at: number;
    updated_at: number;
    completed_at: number | null;
  };
  vex_documents: {
    repository_id: number;
    referrer_digest: string;
    image_digest: string;
    subject_digest: string;
    format: string;
    status: string;
    error: string | null;
    statements: string | null;
    created_at: number;
  };
}
