import pg from 'pg';
import type { StateTables } from './tables.js';

const { escapeLiteral } = pg;

export type HistoryDirection = 'up' | 'down' | 'force' | 'bootstrap' | 'adopt';
export type ExecutionMode = 'transaction' | 'no-transaction' | 'unwrapped';

/** What telling applied from pending needs of a history row. */
export interface HistoryRecord {
  version: bigint;
  name: string;
  direction: HistoryDirection;
  fromVersion: bigint | null;
  toVersion: bigint | null;
  checksum: string | null;
  /** How the file ran: recorded for up and down steps, null for the other rows. */
  mode: ExecutionMode | null;
  startedAt: Date;
}

/** A whole history row, as `migrate:history` shows it. */
export interface HistoryRow extends HistoryRecord {
  id: bigint;
  durationMs: number | null;
  appliedBy: string;
  clientHost: string | null;
  application: string | null;
  tool: string | null;
}

export interface HistoryEntry {
  version: bigint;
  name: string;
  direction: HistoryDirection;
  fromVersion: bigint | null;
  toVersion: bigint | null;
  checksum?: string;
  mode?: ExecutionMode;
  /** Milliseconds, or a SQL expression computed when the row is written. */
  durationMs?: number | 'transaction';
}

export const TOOL_NAME = 'tidemark';

function literal(value: string | bigint | number | null | undefined): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'bigint' || typeof value === 'number') return String(value);
  return escapeLiteral(value);
}

/**
 * One INSERT for a history row. With `durationMs: 'transaction'` the duration
 * is measured by the server, from the start of the enclosing transaction, so
 * that a migration and its record travel in one round trip.
 */
export function insertHistorySql(t: StateTables, entry: HistoryEntry): string {
  const duration = entry.durationMs === 'transaction' ? `extract(epoch FROM clock_timestamp() - now()) * 1000` : literal(entry.durationMs);
  const started = entry.durationMs === 'transaction' ? 'now()' : typeof entry.durationMs === 'number' ? `clock_timestamp() - make_interval(secs => ${entry.durationMs / 1000})` : 'clock_timestamp()';
  return `INSERT INTO ${t.history} (version, name, direction, from_version, to_version, checksum, mode, started_at, duration_ms, client_host, tool) VALUES (${[
    literal(entry.version), literal(entry.name), literal(entry.direction), literal(entry.fromVersion), literal(entry.toVersion),
    literal(entry.checksum), literal(entry.mode), started, duration, literal(t.clientHost), literal(TOOL_NAME),
  ].join(', ')})`;
}

const toBig = (v: string | null): bigint | null => (v === null ? null : BigInt(v));

const HISTORY_COLUMNS = ['id', 'version', 'name', 'direction', 'from_version', 'to_version', 'checksum', 'mode', 'started_at', 'duration_ms', 'applied_by', 'client_host', 'application', 'tool'];
const parseTimestamp = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ) as (text: string) => Date;
const parseDouble = pg.types.getTypeParser(pg.types.builtins.FLOAT8) as (text: string) => number;

/**
 * The whole history, oldest first, as one JSON array of the columns' text
 * forms: pg decodes a result field by field in JavaScript, which for
 * thousands of rows costs several times one native JSON.parse. The texts then
 * go through pg's own type parsers, so the rows are the ones a plain SELECT
 * would give.
 */
export function historyRowsSql(t: StateTables): string {
  return `SELECT coalesce(json_agg(json_build_array(${HISTORY_COLUMNS.map((c) => `${c}::text`).join(', ')}) ORDER BY id), '[]')::text FROM ${t.history}`;
}

export function parseHistoryRows(value: string): HistoryRow[] {
  const list = JSON.parse(value) as (string | null)[][];
  return list.map((r) => ({
    id: BigInt(r[0]!), version: BigInt(r[1]!), name: r[2]!, direction: r[3] as HistoryDirection, fromVersion: toBig(r[4]), toVersion: toBig(r[5]),
    checksum: r[6], mode: r[7] as ExecutionMode | null, startedAt: parseTimestamp(r[8]!), durationMs: r[9] === null ? null : parseDouble(r[9]),
    appliedBy: r[10]!, clientHost: r[11], application: r[12], tool: r[13],
  }));
}

export async function readHistory(client: pg.Client, t: StateTables): Promise<HistoryRow[]> {
  const { rows } = await client.query({ text: historyRowsSql(t), rowMode: 'array' });
  return parseHistoryRows(rows[0][0]);
}

// Control characters no migration name or checksum holds; one that did would
// change the field count, which the reader checks.
const FIELD = 'chr(31)';
const RECORD = 'chr(30)';
const RECORD_FIELDS = 8;

/**
 * Only what status and migrate need of each row, oldest first, as one text of
 * separated fields: several times quicker than JSON for the server to build
 * and the client to take apart, which shows at thousands of rows. NULL
 * becomes an empty field (no version, checksum, mode or name is empty otherwise);
 * the start time travels as epoch milliseconds, the precision of a Date.
 */
export function historyRecordsSql(t: StateTables): string {
  const fields = ['version', 'direction', 'from_version', 'to_version', 'floor(extract(epoch FROM started_at) * 1000)::bigint', 'checksum', 'mode', 'name'];
  return `SELECT string_agg(concat(${fields.join(`, ${FIELD}, `)}), ${RECORD} ORDER BY id) FROM ${t.history}`;
}

/** The records, or undefined when a field held a separator: then read the whole rows instead. */
export function parseHistoryRecords(value: string | null): HistoryRecord[] | undefined {
  if (value === null) return [];
  const records: HistoryRecord[] = [];
  for (const text of value.split('\x1e')) {
    const f = text.split('\x1f');
    if (f.length !== RECORD_FIELDS) return undefined;
    records.push({
      version: BigInt(f[0]), direction: f[1] as HistoryDirection, fromVersion: f[2] ? BigInt(f[2]) : null, toVersion: f[3] ? BigInt(f[3]) : null,
      startedAt: new Date(Number(f[4])), checksum: f[5] || null, mode: (f[6] || null) as ExecutionMode | null, name: f[7],
    });
  }
  return records;
}
