/**
 * What the linter remembers while it reads statements in order: across the
 * whole run (tables and indexes created by it, columns a validated CHECK has
 * proven NOT NULL) and within one file (its transaction, its lock_timeout,
 * the tables its transaction has changed).
 */
import type { Catalog } from './catalog.js';
import type { LockMode } from './locks.js';
import type { RuleId } from '../lint-rule-ids.js';
import type { ParsedStatement, PgNode } from './parse.js';
import { relationKey } from './names.js';

/** How the runner executes a file. */
export type TransactionMode = 'transaction' | 'no-transaction' | 'unwrapped';

export class RunState {
  /** Tables created earlier in this run: nobody uses them yet, so locking them costs nothing. */
  readonly createdTables = new Set<string>();
  /** Indexes created in this run on such tables. */
  readonly createdIndexes = new Set<string>();
  /** `table\0column` proven NOT NULL by a CHECK validated in this run. */
  readonly provenNotNull = new Set<string>();
  /** `table\0constraint` → column, for CHECK (column IS NOT NULL) NOT VALID awaiting VALIDATE. */
  readonly unvalidatedNotNullChecks = new Map<string, string>();

  isNew(rel: PgNode): boolean {
    return this.createdTables.has(relationKey(rel));
  }
}

export class FileState {
  /** Whether the statement being read runs inside a transaction. */
  inTransaction: boolean;
  /** The file set lock_timeout itself (and has not reset it). */
  lockTimeoutSet = false;
  /** missing-lock-timeout is said once a file. */
  lockTimeoutReported = false;
  /** Tables with DDL that blocks writes (and its strongest lock), and tables with data changes, in the current transaction. */
  readonly ddlTables = new Map<string, LockMode>();
  readonly dataTables = new Set<string>();
  /** `table\0constraint` added NOT VALID in the current transaction → the rule its VALIDATE there would break. */
  readonly notValidConstraints = new Map<string, RuleId>();

  constructor(readonly mode: TransactionMode) {
    this.inTransaction = mode === 'transaction';
  }

  /** BEGIN, COMMIT and friends in a file that manages its own transaction. */
  onTransactionStatement(kind: string): void {
    if (this.mode !== 'unwrapped') return;
    if (kind === 'TRANS_STMT_BEGIN' || kind === 'TRANS_STMT_START') this.inTransaction = true;
    else if (['TRANS_STMT_COMMIT', 'TRANS_STMT_ROLLBACK', 'TRANS_STMT_PREPARE', 'TRANS_STMT_COMMIT_PREPARED'].includes(kind)) this.endTransaction();
  }

  /** After each statement outside a transaction, nothing carries over to the next. */
  afterStatement(): void {
    if (!this.inTransaction) this.endTransaction();
  }

  private endTransaction(): void {
    this.inTransaction = this.mode === 'transaction';
    this.ddlTables.clear();
    this.dataTables.clear();
    this.notValidConstraints.clear();
  }
}

/** What a rule sees of one statement. */
export interface CheckContext {
  statement: ParsedStatement;
  run: RunState;
  file: FileState;
  /** The major version the migration will run on. */
  pgVersion: number;
  catalog?: Catalog;
  /** The lock_timeout the runner sets for DDL, in milliseconds; undefined or 0 when it sets none. */
  runnerLockTimeoutMs?: number;
}
