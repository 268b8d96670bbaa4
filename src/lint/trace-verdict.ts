/**
 * A finding held against the trace of its statement: where the server did
 * something else than the static rule claimed, the trace wins and the
 * finding says so.
 */
import { LOCK_MODES, lockClaim, type LockMode } from './locks.js';
import type { TracedStatement } from './trace.js';
import type { Claim, Finding } from './types.js';

export interface TraceVerdict {
  /** The lock the statement took on the finding's table; null: none; absent: not readable (it ran outside a transaction). */
  lock?: LockMode | null;
  /** Whether the table was rewritten; absent for a finding about no table. */
  rewrite?: boolean;
  /** Absent when not readable (outside a transaction the scan counts are gone). */
  scan?: boolean;
  /** The static claims the trace contradicted, in words; empty when it agrees (a `maybe` it settles is no contradiction). */
  differences: string[];
  /** The statement failed on the scratch database. */
  error?: string;
}

export type TracedFinding = Finding & { trace?: TraceVerdict };

/** `"Public"."Orders"` and `orders` name the same table for the comparison; public is the default schema. */
export function tableKey(name: string): string {
  const unquoted = name.split('.').map((part) => (/^".*"$/.test(part) ? part.slice(1, -1).replace(/""/g, '"') : part.toLowerCase()));
  return (unquoted[0] === 'public' && unquoted.length === 2 ? unquoted.slice(1) : unquoted).join('.');
}

const yesNo = (b: boolean): Claim => (b ? 'yes' : 'no');

function contradicts(claim: Claim, seen: boolean | undefined): boolean {
  return seen !== undefined && claim !== 'maybe' && claim !== yesNo(seen);
}

/**
 * The tables a claim names: `orders, users` for a foreign key, and for an
 * index the table it belongs to (REINDEX INDEX locks its table).
 */
function claimedTables(on: string, traced: TracedStatement): string[] {
  const indexes = new Map(Object.entries(traced.indexes).map(([index, table]) => [tableKey(index), table]));
  return on.split(/,\s*/).map((name) => tableKey(indexes.get(tableKey(name)) ?? name));
}

function seenOn(names: string[], keys: string[]): boolean {
  return names.some((name) => keys.includes(tableKey(name)));
}

/** The verdict of the trace on one finding, and the finding as the trace has it. */
export function judgeFinding(finding: Finding, traced: TracedStatement | undefined): TracedFinding {
  if (!traced) return finding;
  const table = finding.lock?.on ?? finding.table;
  // A finding about no table (CONCURRENTLY in a transaction, DROP ... CASCADE) gets what happened, and nothing to hold it against.
  if (traced.error || !table) return { ...finding, trace: { differences: [], error: traced.error } };
  const keys = claimedTables(table, traced);
  const held = (key: string) => Object.entries(traced.locks).find(([name]) => tableKey(name) === key)?.[1] ?? null;
  // The weakest lock among the tables named: a claim holds only if every table had it.
  const modes = keys.map(held);
  const lock = !traced.locksSeen ? undefined : modes.includes(null) ? null : modes.reduce((a, b) => (LOCK_MODES.indexOf(b!) < LOCK_MODES.indexOf(a!) ? b : a));
  const rewrite = seenOn(traced.rewritten, keys);
  const scan = traced.locksSeen ? seenOn(traced.scanned, keys) : undefined;
  const differences: string[] = [];
  if (finding.lock && lock !== undefined && lock !== finding.lock.mode) {
    differences.push(`lock: the lint claimed ${finding.lock.mode}, the trace saw ${lock ?? 'no lock'} on ${table}`);
  }
  if (contradicts(finding.rewrite, rewrite)) differences.push(`rewrite: the lint claimed ${finding.rewrite}, the trace saw ${yesNo(rewrite)}`);
  if (contradicts(finding.scan, scan)) differences.push(`scan: the lint claimed ${finding.scan}, the trace saw ${yesNo(scan!)}`);
  // The trace wins: the finding carries what the server did, its `maybe`s settled.
  return {
    ...finding,
    lock: !finding.lock || lock === undefined ? finding.lock : lock === null ? undefined : lockClaim(lock, finding.lock.on),
    rewrite: yesNo(rewrite),
    scan: scan === undefined ? finding.scan : yesNo(scan),
    trace: { lock, rewrite, scan, differences },
  };
}

/** Each finding with the trace of the statement it is about (same file, same line and column). */
export function judgeFindings(findings: Finding[], traced: TracedStatement[]): TracedFinding[] {
  const at = new Map(traced.map((t) => [`${t.file}:${t.line}:${t.column}`, t]));
  return findings.map((f) => judgeFinding(f, at.get(`${f.file}:${f.line}:${f.column}`)));
}
