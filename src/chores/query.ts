import type pg from 'pg';
import type { Socket } from 'node:net';
import type { Settings } from '../config.js';
import type { DatabaseTarget } from '../connection-string.js';
import { cancelBackend, isConnectionLost } from '../db/connect.js';
import { abortSignalName, interruptedError, TidemarkError } from '../errors.js';
import { importExternal } from '../import-external.js';
import { describePgError, isPgError, positionInText } from '../pg-errors.js';
import { withClient } from '../db/scoped.js';
import { readOnlyRefusal, type ParseNode } from '../sql/read-only.js';

export interface QueryColumn {
  name: string;
  /** The PostgreSQL type's OID. */
  typeId: number;
  /** A number type: right-aligned in a table. */
  numeric: boolean;
}

export interface QueryResult {
  /** SELECT, INSERT, UPDATE... */
  command: string;
  rowCount: number | null;
  columns: QueryColumn[];
  /** Every value as PostgreSQL's own text, as psql shows it; null for NULL. */
  rows: (string | null)[][];
  readOnly: boolean;
}

export interface QueryOptions {
  /** Run the statement as it is, outside a transaction block, so that it may change data. */
  write?: boolean;
  /**
   * Aborting it (reason 'SIGINT' or 'SIGTERM') cancels the statement on the
   * server: the call then throws INTERRUPTED, or returns the result when the
   * statement had already completed.
   */
  signal?: AbortSignal;
}

const NUMERIC_TYPES = new Set([20, 21, 23, 26, 700, 701, 790, 1700]);
// Values that fit a JSON number without losing digits; int8 and numeric stay text.
const JSON_NUMBER_TYPES = new Set([21, 23, 26, 700, 701]);
const BOOL = 16;
const JSON_TYPES = new Set([114, 3802]);
const AS_TEXT = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;
const QUERY_CANCELED = '57014';
const READ_ONLY = '25006';
// How long a cancelled statement may take to end before the connection is cut.
const CANCEL_WAIT_MS = 5_000;

type Parsed = { stmts: ParseNode[] } | { syntaxError: { message: string; cursor?: number } };

async function parseSql(sql: string): Promise<Parsed> {
  const { parse } = await importExternal<typeof import('libpg-query')>('libpg-query');
  try {
    const result = (await parse(sql)) as unknown as { stmts?: { stmt: ParseNode }[] };
    return { stmts: (result.stmts ?? []).map((s) => s.stmt) };
  } catch (err) {
    const details = (err as { sqlDetails?: { cursorPosition?: number } }).sqlDetails;
    if (!details) throw err;
    return { syntaxError: { message: (err as Error).message, cursor: details.cursorPosition } };
  }
}

/**
 * Exactly one statement, and without --write one that reads only: refused
 * before anything is sent to the server.
 */
async function checkStatement(sql: string, readOnly: boolean): Promise<void> {
  const parsed = await parseSql(sql);
  if ('syntaxError' in parsed) {
    // With --write the server reports it, as it would run the text; a read-only query runs only once it is understood.
    if (readOnly) throw syntaxError(sql, parsed.syntaxError);
    return;
  }
  requireOneStatement(parsed.stmts.length);
  const refusal = readOnly ? readOnlyRefusal(parsed.stmts[0]) : undefined;
  if (!refusal) return;
  throw new TidemarkError('QUERY_READ_ONLY', 'the statement is not a read-only query, and queries are read-only', {
    operation: 'check the statement before running it read-only',
    cause: `${refusal.refused} ${refusal.reason}`,
    hint: 'nothing was run; if this is intended, run it again with --write',
    data: { refused: refusal.refused },
  });
}

function requireOneStatement(count: number): void {
  if (count === 1) return;
  throw new TidemarkError('INVALID_ARGUMENT', 'invalid arguments', {
    operation: 'read the SQL',
    cause: count === 0 ? 'no SQL statement given' : `${count} statements given; db:query runs exactly one`,
    hint: count === 0 ? 'task db:query -- "SELECT count(*) FROM users"' : 'run them one at a time, or use task db:psql',
  });
}

/** PostgreSQL's parser's own message, with the line and a caret as the server would show them. */
function syntaxError(sql: string, error: { message: string; cursor?: number }): TidemarkError {
  // The parser gives a 0-based byte offset; positions in messages count characters from 1.
  const before = error.cursor === undefined ? undefined : Buffer.from(sql, 'utf8').subarray(0, error.cursor).toString('utf8');
  const pos = before === undefined ? undefined : positionInText(Array.from(before).length + 1, { sql });
  const cause = pos
    ? [`${error.message} (line ${pos.line})`, `  ${pos.lineText}`, `  ${' '.repeat(pos.column - 1)}^`].join('\n')
    : error.message;
  return new TidemarkError('QUERY_FAILED', 'the query failed', {
    operation: 'check the statement before running it read-only', cause,
    hint: 'nothing was run: a read-only query runs only once the PostgreSQL parser built into tidemark accepts it; '
      + 'with --write the server parses it itself',
  });
}

function queryError(err: unknown, sql: string, readOnly: boolean): TidemarkError {
  const cause = describePgError(err, { sql });
  if (readOnly && isPgError(err) && err.code === READ_ONLY) {
    return new TidemarkError('QUERY_READ_ONLY', 'the statement writes, and queries are read-only', {
      operation: 'run the query in a read-only transaction', cause,
      hint: 'nothing was changed; if the change is intended, run it again with --write',
    }, { cause: err });
  }
  return new TidemarkError('QUERY_FAILED', 'the query failed', {
    operation: readOnly ? 'run the query in a read-only transaction' : 'run the query (--write)', cause,
    hint: 'nothing was changed: the statement failed as a whole',
  }, { cause: err });
}

/** Runs one statement, read-only unless `write` (`task db:query`). */
export async function runQuery(settings: Settings, sql: string, options: QueryOptions = {}): Promise<QueryResult> {
  const readOnly = !options.write;
  await checkStatement(sql, readOnly);
  throwIfAborted(options.signal);
  return withClient(settings.database, { operation: 'run a query' }, (client) => {
    throwIfAborted(options.signal);
    return runStatement(settings.database, client, sql, readOnly, options.signal);
  });
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (!signal?.aborted) return;
  throw interruptedError(abortSignalName(signal), 'run the query', 'the statement was not sent; nothing was changed');
}

async function runStatement(
  target: DatabaseTarget, client: pg.Client, sql: string, readOnly: boolean, signal?: AbortSignal,
): Promise<QueryResult> {
  const watch = cancelOnAbort(target, client, signal);
  try {
    // The second wall, for what no parse tree shows (a user's function that
    // writes). It is never committed: closing the connection ends it.
    if (readOnly) await client.query('BEGIN READ ONLY');
    throwIfAborted(signal);
    const result = await client.query({ text: sql, rowMode: 'array', types: AS_TEXT });
    return {
      command: result.command,
      rowCount: result.rowCount,
      columns: (result.fields ?? []).map((f) => ({
        name: f.name, typeId: f.dataTypeID, numeric: NUMERIC_TYPES.has(f.dataTypeID),
      })),
      rows: result.rows as (string | null)[][],
      readOnly,
    };
  } catch (err) {
    if (err instanceof TidemarkError) throw err;
    throw (signal?.aborted && interruption(err, signal, readOnly, watch.cut())) || queryError(err, sql, readOnly);
  } finally {
    watch.stop();
  }
}

/**
 * On abort, asks the server to cancel the statement (the protocol's
 * CancelRequest) and, if it has not ended within CANCEL_WAIT_MS, cuts the
 * connection so that the command need not wait for a server that does not answer.
 */
function cancelOnAbort(
  target: DatabaseTarget, client: pg.Client, signal: AbortSignal | undefined,
): { cut(): boolean; stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let cut = false;
  const onAbort = () => {
    void cancelBackend(target, client, CANCEL_WAIT_MS);
    timer = setTimeout(() => {
      cut = true;
      (client as unknown as { connection: { stream: Socket } }).connection.stream.destroy();
    }, CANCEL_WAIT_MS);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  return {
    cut: () => cut,
    stop: () => {
      signal?.removeEventListener('abort', onAbort);
      clearTimeout(timer);
    },
  };
}

/** INTERRUPTED, saying what the database holds now; undefined when the statement failed on its own. */
function interruption(err: unknown, signal: AbortSignal, readOnly: boolean, cut: boolean): TidemarkError | undefined {
  const state = interruptedState(err, readOnly, cut);
  return state ? interruptedError(abortSignalName(signal), 'run the query', state) : undefined;
}

function interruptedState(err: unknown, readOnly: boolean, cut: boolean): string | undefined {
  if (isPgError(err) && err.code === QUERY_CANCELED) {
    return readOnly
      ? 'the statement was cancelled; nothing was changed'
      : 'the statement was cancelled on the server and rolled back; nothing was changed';
  }
  if (!cut && !isConnectionLost(err)) return undefined;
  const how = cut
    ? `the server did not end the statement within ${CANCEL_WAIT_MS / 1000} s of the cancel request, so the connection was closed`
    : 'the connection was lost while the statement was being cancelled';
  return readOnly ? `${how}; the statement ran in a read-only transaction: nothing was changed`
    : `${how}; the statement may still run to its end on the server, and its change would then be committed: check the data`;
}

/** A value for JSON output: booleans, small numbers and json as themselves, the rest as text. */
export function jsonValue(text: string | null, typeId: number): unknown {
  if (text === null) return null;
  if (typeId === BOOL) return text === 't';
  if (JSON_NUMBER_TYPES.has(typeId) && Number.isFinite(Number(text))) return Number(text);
  if (JSON_TYPES.has(typeId)) return JSON.parse(text);
  return text;
}

/** Rows as objects keyed by column name; a repeated name gets a suffix (`?column?`, `?column?_2`). */
export function rowObjects(result: QueryResult): Record<string, unknown>[] {
  const seen = new Map<string, number>();
  const keys = result.columns.map((c) => {
    const n = (seen.get(c.name) ?? 0) + 1;
    seen.set(c.name, n);
    return n === 1 ? c.name : `${c.name}_${n}`;
  });
  return result.rows.map((row) => Object.fromEntries(row.map((value, i) => [keys[i], jsonValue(value, result.columns[i].typeId)])));
}
