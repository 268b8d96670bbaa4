/**
 * migrate:lint: what the migrations about to run would do to production
 * tables, read from PostgreSQL's own parse tree, and from the server's catalog
 * when a database is reachable. Read-only: it changes nothing anywhere.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import type { Settings, SettingsWithoutDatabase } from '../config.js';
import { closeConnection } from '../connection-close.js';
import { connect } from '../db/connect.js';
import { TidemarkError, abortSignalName, describeCause, interruptedError, isTidemarkError } from '../errors.js';
import { migrateStatus } from '../migrate/commands/status.js';
import { readMigrationDir, type MigrationSet } from '../migrate/source/index.js';
import { serverCatalog } from './catalog.js';
import { Linter, type LinterOptions, type ScriptInput } from './linter.js';
import { countFindings, type Finding, type FindingCounts } from './types.js';
import { traceScripts } from './trace.js';
import { judgeFindings, type TracedFinding } from './trace-verdict.js';

export type { Finding, FindingCounts, Claim, SizeClass } from './types.js';
export type { LockClaim, LockMode } from './locks.js';
export type { RuleId, RuleSetting, Severity } from '../lint-rule-ids.js';
export type { ScriptInput } from './linter.js';
export type { TraceVerdict, TracedFinding } from './trace-verdict.js';
export type { TracedStatement } from './trace.js';
export { RULES, type RuleInfo } from './rules.js';
export { RULE_IDS } from '../lint-rule-ids.js';

/** The major version of the embedded development server: what migrations are linted for by default. */
export const EMBEDDED_PG_MAJOR = 18;

export interface LintOptions {
  /** Files to lint, in this order: paths, or names in the migrations directory. */
  files?: string[];
  /** Every up migration, not only the pending ones. */
  all?: boolean;
  /** Do not connect, even when a database is configured: a static lint. */
  offline?: boolean;
  /** Migrations from elsewhere than the configured directory. */
  source?: MigrationSet;
  /**
   * Also run the linted migrations on a scratch database of the configured
   * server (brought to the database's version by the directory's own
   * migrations) and hold each finding against what the server did there.
   */
  trace?: boolean;
  /** The lock_timeout the runner sets for DDL (ms); default: what the settings say the runner sets. */
  runnerLockTimeoutMs?: number;
  signal?: AbortSignal;
  /** Called once the files are chosen, before the first is linted. */
  onStart?: (start: { files: number; scope: LintReport['scope']; pgVersion: number }) => void;
}

export interface LintReport {
  /** What was linted: the pending migrations, every up migration, or the files named. */
  scope: 'pending' | 'all' | 'files';
  files: string[];
  pgVersion: number;
  /** Where the version came from: the server, the configuration (--pg-version, TIDEMARK_LINT_PG_VERSION, the lint file), or the default. */
  pgVersionFrom: 'server' | 'configuration' | 'default';
  /** Whether the server's catalog (table sizes, column types, casts) was consulted. */
  catalog: boolean;
  findings: TracedFinding[];
  counts: FindingCounts;
  notes: string[];
  /** With `trace`: how many statements ran on the scratch database, from which version, and how many findings it contradicted. */
  trace?: { statements: number; startingVersion: string | null; disagreements: number };
}

/**
 * The lock_timeout the runner sets on DDL (--ddl-lock-timeout, default 5s);
 * undefined when it sets none (0), and then missing-lock-timeout speaks up.
 */
export function runnerDdlLockTimeoutMs(settings: SettingsWithoutDatabase): number | undefined {
  return settings.ddlLockTimeoutMs > 0 ? settings.ddlLockTimeoutMs : undefined;
}

/** What the runner calls before it applies steps: the findings for these scripts, in order. */
export async function lintScripts(scripts: ScriptInput[], options: LinterOptions & { client?: pg.ClientBase }): Promise<Finding[]> {
  const linter = new Linter({ ...options, catalog: options.catalog ?? (options.client && serverCatalog(options.client)) });
  const findings: Finding[] = [];
  for (const script of scripts) findings.push(...(await linter.lintScript(script)));
  return findings;
}

async function tryConnect(settings: SettingsWithoutDatabase, options: LintOptions, notes: string[]): Promise<pg.Client | undefined> {
  if (!settings.database || options.offline) return undefined;
  try {
    const client = await connect(settings.database, { operation: 'lint migrations' });
    // The linter only reads; the server holds it to that.
    await client.query('SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY');
    return client;
  } catch (err) {
    if (!isTidemarkError(err) || err.code !== 'DB_CONNECT_FAILED') throw err;
    notes.push(`no database reachable (${describeCause(err)}): linted every file, statically`);
    return undefined;
  }
}

async function serverMajor(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
  return Math.floor(Number(rows[0].v) / 10_000);
}

function displayPath(cwd: string, file: string): string {
  const relative = path.relative(cwd, file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

function readNamedFile(settings: SettingsWithoutDatabase, name: string): ScriptInput {
  const file = [path.resolve(settings.cwd, name), path.join(settings.migrations.dir, name)].find((f) => existsSync(f));
  if (!file) {
    throw new TidemarkError('MIGRATION_SOURCE_FAILED', 'cannot read migrations', {
      operation: `read ${name}`, cause: `no such file, here or in ${displayPath(settings.cwd, settings.migrations.dir)}`,
    });
  }
  return { file: displayPath(settings.cwd, file), sql: readFileSync(file, 'utf8').replace(/^\uFEFF/, '') };
}

interface Chosen {
  scope: LintReport['scope'];
  scripts: ScriptInput[];
}

async function chooseScripts(settings: SettingsWithoutDatabase, options: LintOptions, connected: boolean): Promise<Chosen> {
  if (options.files?.length) return { scope: 'files', scripts: options.files.map((f) => readNamedFile(settings, f)) };
  const source = options.source ?? (await readMigrationDir(settings.migrations.dir));
  const name = (fileName: string) => (options.source ? fileName : displayPath(settings.cwd, path.join(settings.migrations.dir, fileName)));
  let ups = source.migrations.flatMap((m) => (m.up ? [m.up] : []));
  const scope = connected && !options.all ? 'pending' : 'all';
  if (scope === 'pending') {
    const status = await migrateStatus(settings as Settings, { source });
    const pending = new Set(status.pending.map((p) => p.fileName));
    ups = ups.filter((u) => pending.has(u.fileName));
  }
  const scripts: ScriptInput[] = [];
  const versions = new Map(source.migrations.flatMap((m) => (m.up ? [[m.up.fileName, m.version] as const] : [])));
  for (const up of ups) scripts.push({ file: name(up.fileName), sql: up.load().sql, version: versions.get(up.fileName) });
  return { scope, scripts };
}

/** Runs the scripts on a scratch database and replaces each finding by its verdict (in place: the report lists what the trace has). */
async function traceAndJudge(settings: SettingsWithoutDatabase, scripts: ScriptInput[], findings: Finding[], options: LintOptions, notes: string[]): Promise<LintReport['trace']> {
  if (options.offline) {
    throw new TidemarkError('INVALID_ARGUMENT', 'the trace needs a database', {
      operation: 'trace migrations', cause: '--offline connects to nothing, and the trace runs the migrations on a scratch database of the server', hint: 'give one of --trace and --offline',
    });
  }
  if (!settings.database) {
    throw new TidemarkError('CONFIG_INVALID', 'the trace needs a database', {
      operation: 'trace migrations', cause: 'no database is configured: the trace runs the migrations on a scratch database of that server', hint: 'set DATABASE_URL, or use --embedded',
    });
  }
  const { traced, startingVersion, notes: traceNotes } = await traceScripts(settings as Settings, scripts, { source: options.source, signal: options.signal });
  notes.push(...traceNotes);
  const judged = judgeFindings(findings, traced);
  findings.splice(0, findings.length, ...judged);
  const disagreements = judged.filter((f) => f.trace?.differences.length).length;
  if (disagreements) notes.push(`the trace disagreed with ${disagreements} finding${disagreements === 1 ? '' : 's'}: what the server did is shown`);
  return { statements: traced.length, startingVersion: startingVersion === null ? null : String(startingVersion), disagreements };
}

/** Lints the pending migrations (every one when no database is reachable, or with `all`), or the files named. */
export async function lintMigrations(settings: SettingsWithoutDatabase, options: LintOptions = {}): Promise<LintReport> {
  const notes: string[] = [];
  // Settings loaded without `lint: true` carry no lint section: no file, no rule settings.
  const lint = settings.lint ?? { rules: {} };
  const client = await tryConnect(settings, options, notes);
  try {
    const server = client && (await serverMajor(client));
    const pgVersion = server ?? lint.pgVersion ?? EMBEDDED_PG_MAJOR;
    if (server && lint.pgVersion && lint.pgVersion !== server) {
      notes.push(`linted for PostgreSQL ${server}, the server's version, not the configured ${lint.pgVersion}`);
    }
    const { scope, scripts } = await chooseScripts(settings, options, !!client);
    const linter = new Linter({
      pgVersion, catalog: client && serverCatalog(client), rules: lint.rules,
      runnerLockTimeoutMs: options.runnerLockTimeoutMs ?? runnerDdlLockTimeoutMs(settings),
    });
    options.onStart?.({ files: scripts.length, scope, pgVersion });
    const findings: Finding[] = [];
    for (const [i, script] of scripts.entries()) {
      // The parser answers without a turn of the event loop: give a signal its chance now and then.
      if (i % 64 === 63) await new Promise((resolve) => setImmediate(resolve));
      if (options.signal?.aborted) throw interruptedError(abortSignalName(options.signal), 'lint migrations', 'nothing was changed: the lint only reads');
      findings.push(...(await linter.lintScript(script)));
    }
    const traced = options.trace ? await traceAndJudge(settings, scripts, findings, options, notes) : undefined;
    return {
      scope, files: scripts.map((s) => s.file), pgVersion, trace: traced,
      pgVersionFrom: server ? 'server' : lint.pgVersion ? 'configuration' : 'default',
      catalog: !!client, findings, counts: countFindings(findings), notes,
    };
  } finally {
    if (client) await closeConnection(client);
  }
}
