/**
 * Every expected failure is a TidemarkError with a stable code. The CLI prints
 * it as three lines (code and summary, operation, cause) or as one JSON object;
 * the API throws it. Unexpected failures are left as they are, so that a bug
 * still shows its stack.
 */

export const ERROR_CODES = {
  CONFIG_INVALID: 'usage',
  DB_CONNECT_FAILED: 'failure',
  INVALID_VERSION: 'usage',
  INVALID_ARGUMENT: 'usage',
  MIGRATION_SOURCE_FAILED: 'failure',
  MIGRATION_INIT_FAILED: 'failure',
  MIGRATION_UP_FAILED: 'failure',
  MIGRATION_DOWN_FAILED: 'failure',
  MIGRATION_VERSION_FAILED: 'failure',
  MIGRATION_FORCE_FAILED: 'failure',
  MIGRATION_DIRTY: 'failure',
  MIGRATION_LOCK_TIMEOUT: 'failure',
  MIGRATION_DDL_LOCK_TIMEOUT: 'failure',
  MIGRATION_CHECKSUM_MISMATCH: 'failure',
  MIGRATION_OUT_OF_ORDER: 'failure',
  MIGRATION_DOWN_MISSING: 'failure',
  MIGRATION_FILE_MISSING: 'failure',
  MIGRATION_NAME_INVALID: 'usage',
  MIGRATION_CREATE_FAILED: 'failure',
  MIGRATION_BOOTSTRAP_REFUSED: 'failure',
  MIGRATION_LINT_FAILED: 'failure',
  CONFIRMATION_REQUIRED: 'usage',
  CANCELLED: 'failure',
  DEVDB_FAILED: 'failure',
  BACKUP_FAILED: 'failure',
  BACKUP_CLIENT_TOO_OLD: 'failure',
  BACKUP_CLIENT_NOT_FOUND: 'failure',
  BACKUP_LOCKED: 'failure',
  BACKUP_VERIFY_FAILED: 'failure',
  BACKUP_NOT_FOUND: 'failure',
  BACKUP_DIR_INVALID: 'usage',
  BACKUP_STALE: 'failure',
  RESTORE_FAILED: 'failure',
  RESTORE_TARGET_EXISTS: 'failure',
  CHECK_FAILED: 'failure',
  QUERY_FAILED: 'failure',
  QUERY_READ_ONLY: 'failure',
  BACKFILL_NOT_FOUND: 'failure',
  BACKFILL_INVALID: 'failure',
  BACKFILL_FAILED: 'failure',
  BACKFILL_LOCKED: 'failure',
  BACKFILL_NAME_INVALID: 'usage',
  BACKFILL_CREATE_FAILED: 'failure',
  PSQL_NOT_FOUND: 'failure',
  CONNECTION_LOST: 'failure',
  DEPENDENCY_MISSING: 'usage',
  SCRATCH_DATABASE_FAILED: 'failure',
  VERIFY_NOT_REVERSIBLE: 'failure',
  VERIFY_DOWN_FAILED: 'failure',
  VERIFY_UP_FAILED: 'failure',
  VERIFY_DOWN_MISSING: 'failure',
  FLEET_TARGETS_INVALID: 'usage',
  FLEET_TARGETS_QUERY_FAILED: 'failure',
  FLEET_RESUME_INVALID: 'usage',
  FLEET_TARGET_FAILED: 'failure',
  FLEET_FAILED: 'failure',
  PGBACKREST_MISSING: 'failure',
  PGBACKREST_TOO_OLD: 'failure',
  PITR_NOT_CONFIGURED: 'usage',
  PITR_INIT_FAILED: 'failure',
  PITR_BACKUP_FAILED: 'failure',
  PITR_INFO_FAILED: 'failure',
  PITR_VERIFY_FAILED: 'failure',
  PITR_RESTORE_FAILED: 'failure',
  PITR_TARGET_NOT_EMPTY: 'failure',
  PITR_SERVER_RUNNING: 'failure',
  PITR_PRUNE_FAILED: 'failure',
  PITR_ARCHIVE_STALE: 'failure',
  INTERRUPTED: 'interrupted',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorDetails {
  /** What was being done, e.g. "apply migration 7 (000007_objects.up.sql)". */
  operation: string;
  /** The underlying cause, in plain words. */
  cause?: string;
  /** What the user can do about it. */
  readonly hint?: string;
  /** Structured extras for --json output (never secrets). */
  data?: Record<string, unknown>;
}

export class TidemarkError extends Error {
  readonly code: ErrorCode;
  readonly operation: string;
  readonly reason?: string;
  readonly hint?: string;
  readonly data?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details: ErrorDetails, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TidemarkError';
    this.code = code;
    this.operation = details.operation;
    this.reason = details.cause;
    this.hint = details.hint;
    this.data = details.data;
  }

  /** The same error with another hint. */
  withHint(hint: string): TidemarkError {
    return new TidemarkError(this.code, this.message, { operation: this.operation, cause: this.reason, hint, data: this.data }, { cause: this.cause });
  }

  /**
   * 2 for usage and configuration errors, 1 for failures; an interruption
   * exits as a shell reports the signal that caused it (130 for SIGINT, 143
   * for SIGTERM).
   */
  get exitCode(): number {
    const kind = ERROR_CODES[this.code];
    if (kind === 'interrupted') return this.data?.signal === 'SIGINT' ? 130 : 143;
    return kind === 'usage' ? 2 : 1;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      operation: this.operation,
      ...(this.reason !== undefined && { error: this.reason }),
      ...(this.hint !== undefined && { hint: this.hint }),
      ...(this.data !== undefined && { details: this.data }),
    };
  }
}

export function isTidemarkError(err: unknown): err is TidemarkError {
  return err instanceof TidemarkError;
}

/** The stderr form: `CODE: message`, then indented operation, error and hint lines. */
export function formatError(err: TidemarkError): string {
  const lines = [`${err.code}: ${err.message}`, `  operation: ${err.operation}`];
  if (err.reason) lines.push(...indentBlock('error', err.reason));
  if (err.hint) lines.push(...indentBlock('hint', err.hint));
  return lines.join('\n');
}

function indentBlock(label: string, text: string): string[] {
  const [first, ...rest] = text.split('\n');
  return [`  ${label}: ${first}`, ...rest.map((line) => `    ${line}`)];
}

/**
 * The error for work stopped by SIGINT or SIGTERM: `state` says, in plain
 * words, what the database (or the backup directory) holds now.
 */
export function interruptedError(signal: string | undefined, operation: string, state: string, data: Record<string, unknown> = {}): TidemarkError {
  const name = signal === 'SIGINT' ? 'SIGINT' : 'SIGTERM';
  return new TidemarkError('INTERRUPTED', `interrupted by ${name}`, { operation, cause: `interrupted: ${state}`, data: { ...data, signal: name } });
}

/** The signal an AbortSignal was aborted for, when its reason names one. */
export function abortSignalName(signal: AbortSignal | undefined): string | undefined {
  const reason: unknown = signal?.reason;
  return typeof reason === 'string' && /^SIG[A-Z]+$/.test(reason) ? reason : undefined;
}

/** A short plain-words description of any thrown value. */
export function describeCause(err: unknown): string {
  if (err instanceof TidemarkError) return err.reason ?? err.message;
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
