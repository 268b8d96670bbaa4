/**
 * `pitr:verify`: pgBackRest's verify of every file of the repository, and,
 * with restoreTest, a rehearsal: the latest backup restored with the archive
 * to its end into a scratch data directory, started on a free local port
 * (without archiving), its recovery waited for, a query run, then stopped
 * and removed, whatever happens.
 */
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SettingsWithoutDatabase } from '../config.js';
import { requireDatabase } from '../backup/config.js';
import { abortSignalName, interruptedError, TidemarkError } from '../errors.js';
import { failed } from '../pgtools/run.js';
import { findFreePort } from '../devdb/cluster.js';
import { connect } from '../db/connect.js';
import { closeConnection } from '../connection-close.js';
import type { DatabaseTarget } from '../connection-string.js';
import { restoredTarget, startRestored, stopRestored, waitForRecovery, type StartedCluster } from './cluster-run.js';
import { openPitr } from './context.js';
import { readStanza } from './info.js';
import { handOver, pgbackrestFailure, requireLocal, runPgbackrest, startPgbackrest, type PitrContext } from './tool.js';

export interface PitrVerifyResult {
  stanza: string;
  /** pgBackRest's verify: what it checked. */
  verify: { backups: number; walChecked: number; report: string };
  restoreTest?: RestoreTestResult;
}

export interface RestoreTestResult {
  backup: string;
  port: number;
  /** From the start of the restore to the end of recovery. */
  durationMs: number;
  tables: number;
  databaseSize: number;
  /** The scratch directory is gone. */
  removed: boolean;
}

const OPERATION = 'verify the physical backups';
const UNTOUCHED = 'the repository and the server are untouched';

/** `status: ok` or `status: error` of verify's text report, and what it counted (pure). */
export function parseVerifyReport(text: string): { ok: boolean; backups: number; walChecked: number; problems: string[] } {
  const lines = text.split('\n');
  const ok = lines.some((l) => /^status: ok/.test(l.trim())) && !lines.some((l) => /^status: error/.test(l.trim()));
  const backups = lines.filter((l) => /^\s*backup: \S+, status:/.test(l)).length;
  const walChecked = lines.map((l) => Number(l.match(/total WAL checked: (\d+)/)?.[1] ?? 0)).reduce((a, b) => a + b, 0);
  const problems = lines.filter((l) => /status: (?!ok|valid)\w+|invalid: [1-9]|missing: [1-9]/.test(l)).map((l) => l.trim());
  return { ok, backups, walChecked, problems };
}

async function runVerify(ctx: PitrContext, signal?: AbortSignal): Promise<PitrVerifyResult['verify']> {
  const result = await runPgbackrest(ctx, 'verify', ['--output=text', '--verbose=y'], { signal });
  if (signal?.aborted) throw interruptedError(abortSignalName(signal), OPERATION, 'pgBackRest\'s verify was stopped; it only reads the repository: nothing was changed');
  if (failed(result)) throw new TidemarkError('PITR_VERIFY_FAILED', 'pgbackrest verify failed', { operation: OPERATION, cause: pgbackrestFailure('verify', result, ctx) });
  const report = parseVerifyReport(result.stdout);
  if (!report.ok) {
    throw new TidemarkError('PITR_VERIFY_FAILED', 'the repository holds damaged or missing files', {
      operation: OPERATION, cause: report.problems.join('\n') || result.stdout.trim(), hint: 'take a new full backup (`task pitr:backup -- --type full`); the damaged sets stay until pruned', data: { problems: report.problems },
    });
  }
  return { backups: report.backups, walChecked: report.walChecked, report: result.stdout.trim() };
}

export async function pitrVerify(settings: SettingsWithoutDatabase, options: { restoreTest?: boolean; signal?: AbortSignal } = {}): Promise<PitrVerifyResult> {
  const target = options.restoreTest ? requireDatabase(settings, OPERATION) : undefined;
  if (options.restoreTest) requireLocal(settings.pitr, OPERATION);
  const ctx = await openPitr(settings, OPERATION);
  const info = await readStanza(ctx, OPERATION, options.signal);
  const verify = await runVerify(ctx, options.signal);
  if (!target) return { stanza: ctx.stanza, verify };
  const latest = info.backups.at(-1);
  if (!latest) {
    throw new TidemarkError('PITR_VERIFY_FAILED', 'there is no backup to rehearse a restore with', { operation: OPERATION, cause: `stanza ${ctx.stanza} has no backup`, hint: 'run `task pitr:backup` first' });
  }
  return { stanza: ctx.stanza, verify, restoreTest: await rehearse(settings, ctx, target, latest.label, options.signal) };
}

async function rehearse(settings: SettingsWithoutDatabase, ctx: PitrContext, target: DatabaseTarget, label: string, signal?: AbortSignal): Promise<RestoreTestResult> {
  const operation = `rehearse a restore of ${label}`;
  const started = Date.now();
  const scratch = mkdtempSync(path.join(settings.pitr.scratchDir ?? tmpdir(), 'tidemark-pitr-rehearsal-'));
  handOver(scratch, ctx.as);
  const dataDir = path.join(scratch, 'data');
  let cluster: StartedCluster | undefined;
  try {
    const args = [`--pg1-path=${dataDir}`, `--set=${label}`, '--archive-mode=off', `--tablespace-map-all=${path.join(scratch, 'tablespaces')}`];
    const result = await (await startPgbackrest(ctx, 'restore', args, { signal, stdout: 'collect' })).output;
    if (signal?.aborted) throw interruptedError(abortSignalName(signal), operation, `the rehearsal was stopped and its scratch directory removed; ${UNTOUCHED}`);
    if (failed(result)) throw new TidemarkError('PITR_VERIFY_FAILED', 'the rehearsal restore failed', { operation, cause: pgbackrestFailure('restore', result, ctx) });
    const port = await findFreePort();
    cluster = await startRestored(dataDir, port, ctx.as, 'PITR_VERIFY_FAILED', operation);
    const copy = restoredTarget(target, port);
    await waitForRecovery(copy, 'PITR_VERIFY_FAILED', operation, signal);
    if (signal?.aborted) throw interruptedError(abortSignalName(signal), operation, `the rehearsal was stopped: its server stopped and its scratch directory removed; ${UNTOUCHED}`);
    const { tables, size } = await readCopy(copy, operation);
    return { backup: label, port, durationMs: Date.now() - started, tables, databaseSize: size, removed: true };
  } finally {
    if (cluster) await stopRestored(cluster, ctx.as);
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The query that proves the copy works: its tables, read from the catalog, and the database's size. */
async function readCopy(copy: DatabaseTarget, operation: string): Promise<{ tables: number; size: number }> {
  const client = await connect(copy, { operation, code: 'PITR_VERIFY_FAILED', hint: 'the restored copy started but refused the configured user' });
  try {
    const { rows: [row] } = await client.query<{ tables: number; size: string }>(
      `SELECT (SELECT count(*)::int FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%') AS tables,
              pg_database_size(current_database()) AS size`);
    return { tables: row.tables, size: Number(row.size) };
  } finally {
    await closeConnection(client);
  }
}
