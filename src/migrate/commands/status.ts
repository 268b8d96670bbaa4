import type { Settings } from '../../config.js';
import type { MigrationSet } from '../source/index.js';
import type { AppliedBy, ClassifiedMigration } from '../runner/classify.js';
import { findChecksumMismatches } from '../runner/checks.js';
import { withSession } from '../runner/session.js';
import { loadState } from '../runner/state.js';
import type { ExecutionMode } from '../state/history.js';
import { managesOwnTransaction, mayManageOwnTransaction, wantsNoTransaction } from '../../sql/split.js';

export type ProblemKind = 'dirty' | 'checksum-mismatch' | 'missing-file' | 'out-of-order';

export interface Problem {
  kind: ProblemKind;
  version: bigint | null;
  message: string;
}

export interface StatusEntry {
  version: bigint;
  name: string;
  fileName?: string;
  state: 'applied' | 'pending';
  appliedBy?: AppliedBy;
  appliedAt?: Date;
  current: boolean;
  /** How the file will run (or ran): in a transaction, statement by statement, or as one unwrapped unit. */
  mode?: ExecutionMode;
}

export interface StatusReport {
  database: string;
  table: string;
  version: bigint | null;
  dirty: boolean;
  counts: { total: number; applied: number; pending: number };
  pending: StatusEntry[];
  migrations: StatusEntry[];
  problems: Problem[];
  /** Files that run outside a transaction, and other facts worth knowing. */
  notes: string[];
  warnings: string[];
}

/**
 * How each file will run (or ran): in a transaction, statement by statement, or as one unwrapped
 * unit. A file tidemark applied, unchanged since, ran as its history row says: only the others are
 * read for it, so a status of applied files never loads PostgreSQL's parser.
 */
async function fileModes(entries: ClassifiedMigration[]): Promise<(ExecutionMode | undefined)[]> {
  const modes: (ExecutionMode | undefined)[] = [];
  for (const entry of entries) {
    const script = entry.migration?.up?.load();
    const recorded = entry.state === 'applied' && entry.record?.direction === 'up' ? entry.record : undefined;
    if (!script) modes.push(undefined);
    else if (recorded?.mode && recorded.checksum === script.checksum) modes.push(recorded.mode);
    else if (wantsNoTransaction(script.sql)) modes.push('no-transaction');
    // Awaited only where the lexical pass leaves a doubt: a thousand awaits are a thousand turns.
    else if (!mayManageOwnTransaction(script.sql)) modes.push('transaction');
    else modes.push((await managesOwnTransaction(script.sql)) ? 'unwrapped' : 'transaction');
  }
  return modes;
}

/** Version, dirty flag, counts, pending list and problems (`task migrate:status`). Reads only. */
export async function migrateStatus(settings: Settings, options: { source?: MigrationSet } = {}): Promise<StatusReport> {
  return withSession(settings, { source: options.source, operation: 'read migration status', readUpFiles: true }, async (session) => {
    const loaded = await loadState(session);
    const { state, classification } = loaded;
    const entries = classification.entries;
    const modes = await fileModes(entries);
    const migrations: StatusEntry[] = entries.map((e, i) => ({
      version: e.version, name: e.name, fileName: e.migration?.up?.fileName, state: e.state, appliedBy: e.appliedBy,
      appliedAt: e.record?.startedAt, current: e.current, mode: modes[i],
    }));
    const problems: Problem[] = [];
    if (state.dirty) problems.push({ kind: 'dirty', version: state.version, message: `the database is dirty at version ${state.version ?? 'none'}: a migration outside a transaction failed; repair, then migrate:force` });
    for (const m of await findChecksumMismatches(entries)) problems.push({ kind: 'checksum-mismatch', version: m.version, message: `${m.fileName} changed after it was applied` });
    for (const e of entries.filter((x) => x.missingFile)) problems.push({ kind: 'missing-file', version: e.version, message: `version ${e.version}${e.name ? ` (${e.name})` : ''} is recorded in the database but has no file` });
    for (const e of entries.filter((x) => x.outOfOrder)) problems.push({ kind: 'out-of-order', version: e.version, message: `${e.migration?.up?.fileName ?? e.version} is pending but numbered below the current version ${state.version}` });
    const notes = migrations.filter((m) => m.mode && m.mode !== 'transaction').map((m) =>
      `${m.fileName} runs ${m.mode === 'no-transaction' ? 'statement by statement outside a transaction (-- tidemark:no-transaction)' : 'as one unit, not wrapped in a transaction'}: a failure there leaves the database dirty`);
    const pending = migrations.filter((m) => m.state === 'pending');
    const applied = migrations.filter((m) => m.state === 'applied').length;
    return {
      database: settings.database.redacted,
      table: `${session.tables.schema}.${session.tables.table}`,
      version: state.version,
      dirty: state.dirty,
      counts: { total: session.source.migrations.length, applied, pending: pending.length },
      pending,
      migrations,
      problems,
      notes,
      warnings: session.source.warnings,
    };
  });
}
