import { Migrator, sql, type Kysely } from "kysely";
import { BusStore } from "./bus-store.js";
import { ConsoleStore } from "./console-store.js";
import { DeliveryStore } from "./delivery-store.js";
import { EventStore } from "./event-store.js";
import { FilterStore } from "./filter-store.js";
import { FindingStore } from "./finding-store.js";
import { InventoryStore } from "./inventory-store.js";
import { Handle, type Dialect } from "./handle.js";
import { HistoryStore } from "./history-store.js";
import { JobStore } from "./job-store.js";
import { LayerInventoryStore } from "./layer-store.js";
import { LeaseStore } from "./lease-store.js";
import { LifecycleStore } from "./lifecycle-store.js";
import { MIGRATION_NAMES, migrationProvider } from "./migrations.js";
import { RegistryStore } from "./registry-store.js";
import { RegistryViewStore } from "./registry-view-store.js";
import { PolicyStore } from "./policy-store.js";
import { ReportStore } from "./report-store.js";
import { ScanStore } from "./scan-store.js";
import type { Database } from "./schema.js";
import { SettingsStore } from "./settings-store.js";
import { NO_SIGNALS, type CommitSignals } from "./signals.js";
import { VexStore } from "./vex-store.js";

export type {
  ImageRecord,
  ManifestRecord,
  ManifestReference,
  Page,
  PutManifestInput,
  PutManifestResult,
  TagStatus,
} from "./registry-store.js";
export type { RepositoryRecord, SettingsUpdate, TagMutability } from "./settings-store.js";
export type { ImageKey, ImageScanState, ScanRow, StoredScanType, WindowQuery } from "./scan-store.js";
export type {
  ClosedReason,
  FindingIdentity,
  FindingState,
  FindingStatus,
  FindingWrite,
  StoredFindingRow,
} from "./finding-store.js";
export type {
  AggregationGroup,
  AggregationRow,
  FindingListQuery,
  FindingNarrowing,
  FindingOrder,
  FindingOrderField,
  ListedFinding,
  OrderValue,
  RangeColumn,
  RangeNarrowing,
  StringNarrowing,
  TotalsPageQuery,
} from "./finding-query.js";
export type { FilterWrite, StoredFilter } from "./filter-store.js";
export type { FindingInterval, HistoryNarrowing } from "./history-store.js";
export type { ImageRef, SegmentInput, StoredInventory } from "./inventory-store.js";
export type { JobRecord, NewJob } from "./job-store.js";
export type {
  NewReport,
  ReportKind,
  ReportOutcome,
  StoredReport,
  StoredReportStatus,
} from "./report-store.js";
export type { NewEvent, StoredEvent } from "./event-store.js";
export type {
  ArchivedEvent,
  ArchiveStats,
  ConnectionAuthType,
  ListPage,
  ReplayState,
  RuleState,
  StoredApiDestination,
  StoredArchive,
  StoredBus,
  StoredConnection,
  StoredReplay,
  StoredRule,
  StoredTarget,
} from "./bus-store.js";
export type {
  DeadLetterQuery,
  DeliveryQuery,
  NewDeadLetter,
  NewDelivery,
  StoredDeadLetter,
  StoredDelivery,
} from "./delivery-store.js";
export type {
  LifecycleImageRow,
  LifecyclePreviewResult,
  LifecyclePreviewStatus,
  StoredLifecyclePolicy,
  StoredLifecyclePreview,
} from "./lifecycle-store.js";
export type { Dialect } from "./handle.js";
export type { StoredVex } from "./vex-store.js";
export type {
  AffectedFindingRow,
  ConsoleReportStatus,
  DailyRow,
  DailyRows,
  NewConsoleReport,
  StoredConsoleReport,
  VulnerabilityStat,
} from "./console-store.js";
export type { PolicyDocumentRow } from "./policy-store.js";
export {
  RegistryStore,
  SettingsStore,
  ScanStore,
  FindingStore,
  FilterStore,
  HistoryStore,
  InventoryStore,
  JobStore,
  EventStore,
  BusStore,
  DeliveryStore,
  LeaseStore,
  LayerInventoryStore,
  ReportStore,
  PolicyStore,
};

/** Where the schema stands against the code: `behind` means `drydock migrate` must run first. */
export interface SchemaStatus {
  applied: string[];
  pending: string[];
  /** Migrations the database has that this code does not know (a newer version wrote it). */
  unknown: string[];
}

/**
 * All metadata, one store per area, over one database: SQLite (embedded) or PostgreSQL
 * (scale-out), through the same queries. The SQL handle stays private to `storage/`: services
 * call the stores' typed methods. `tx(fn)` gives `fn` the same stores bound to one
 * transaction (joining the current one when called inside a transaction), so a change and
 * its consequences (an event, a queued job) commit or roll back together. Every store is
 * correct with many processes on one database: nothing relies on process-local locks.
 * The schema is described in ./schema.ts.
 */
export class MetaStore {
  readonly registry: RegistryStore;
  readonly settings: SettingsStore;
  readonly scans: ScanStore;
  readonly findings: FindingStore;
  readonly filters: FilterStore;
  readonly history: HistoryStore;
  readonly inventories: InventoryStore;
  readonly jobs: JobStore;
  readonly events: EventStore;
  readonly bus: BusStore;
  readonly deliveries: DeliveryStore;
  /**
   * Caches that belong to this database within this process (the events router's compiled
   * rules): one Map shared by the store and its transaction-bound copies, so a cache never
   * mixes two databases opened by one process.
   */
  readonly processCache: Map<string, unknown>;
  readonly leases: LeaseStore;
  readonly layers: LayerInventoryStore;
  readonly reports: ReportStore;
  readonly lifecycle: LifecycleStore;
  readonly policies: PolicyStore;
  /** VEX documents pushed as referrers (src/findings/vex-referrers.ts). */
  readonly vex: VexStore;
  /** The console's repository and image lists (src/api/console/repositories.ts, images.ts). */
  readonly registryViews: RegistryViewStore;
  /** The console's rollups and report records (src/console). */
  readonly console: ConsoleStore;
  readonly #h: Handle;
  readonly #root: Kysely<Database>;
  readonly #beforeClose: (() => Promise<void>) | undefined;

  /**
   * Wake-ups for work other processes commit (signals.ts): shared by the store and its
   * transaction-bound copies, closed with the store.
   */
  readonly signals: CommitSignals;

  /** Use openSqliteMetaStore / openPostgresMetaStore (storage/open.ts chooses). */
  constructor(
    root: Kysely<Database>,
    dialect: Dialect,
    now: () => number = Date.now,
    o: {
      h?: Handle;
      processCache?: Map<string, unknown>;
      signals?: CommitSignals;
      /** The driver's own resources, released before the database closes (SQLite's checkpointer). */
      beforeClose?: () => Promise<void>;
    } = {},
  ) {
    this.#beforeClose = o.beforeClose;
    this.#root = root;
    this.processCache = o.processCache ?? new Map();
    this.signals = o.signals ?? NO_SIGNALS;
    this.#h = o.h ?? new Handle(root, dialect, now);
    this.registry = new RegistryStore(this.#h);
    this.settings = new SettingsStore(this.#h);
    this.scans = new ScanStore(this.#h);
    this.findings = new FindingStore(this.#h);
    this.filters = new FilterStore(this.#h);
    this.history = new HistoryStore(this.#h);
    this.inventories = new InventoryStore(this.#h);
    this.jobs = new JobStore(this.#h);
    this.events = new EventStore(this.#h);
    this.bus = new BusStore(this.#h);
    this.deliveries = new DeliveryStore(this.#h);
    this.leases = new LeaseStore(this.#h);
    this.layers = new LayerInventoryStore(this.#h);
    this.reports = new ReportStore(this.#h);
    this.lifecycle = new LifecycleStore(this.#h);
    this.policies = new PolicyStore(this.#h);
    this.vex = new VexStore(this.#h);
    this.registryViews = new RegistryViewStore(this.#h);
    this.console = new ConsoleStore(this.#h);
  }

  get dialect(): Dialect {
    return this.#h.dialect;
  }

  get inTransaction(): boolean {
    return this.#h.inTransaction;
  }

  tx<T>(fn: (tx: MetaStore) => Promise<T>): Promise<T> {
    return this.#h.tx((h) =>
      fn(
        h === this.#h
          ? this
          : new MetaStore(this.#root, h.dialect, h.now, {
              h,
              processCache: this.processCache,
              signals: this.signals,
            }),
      ),
    );
  }

  async migrate(): Promise<string[]> {
    const { error, results } = await this.migrator().migrateToLatest();
    if (error) {
      const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "?";
      throw new Error(`database migration ${failed} failed: ${String(error)}`);
    }
    return (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
  }

  async schemaStatus(): Promise<SchemaStatus> {
    const known = new Set(MIGRATION_NAMES);
    const migrations = await this.migrator().getMigrations();
    const applied = migrations.filter((m) => m.executedAt !== undefined).map((m) => m.name);
    let recorded: string[] = applied;
    try {
      const rows = await sql<{ name: string }>`select name from kysely_migration`.execute(this.#root);
      recorded = rows.rows.map((r) => r.name);
    } catch {
      // no migration table yet: nothing applied
    }
    return {
      applied,
      pending: MIGRATION_NAMES.filter((n) => !applied.includes(n)),
      unknown: recorded.filter((n) => !known.has(n)),
    };
  }

  private migrator(): Migrator {
    return new Migrator({ db: this.#root, provider: migrationProvider(this.#h.dialect) });
  }

  /** A cheap round trip (health checks). */
  async ping(): Promise<void> {
    await sql`select 1`.execute(this.#h.db);
  }

  async close(): Promise<void> {
    await this.signals.close();
    await this.#beforeClose?.();
    await this.#root.destroy();
  }
}
