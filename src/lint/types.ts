import type { LockClaim } from './locks.js';
import type { RuleId, Severity } from '../lint-rule-ids.js';

/**
 * What a rule says a statement does to the table. A claim a trace on a
 * scratch database can later confirm or refute: 'maybe' where the linter
 * cannot tell without the server's catalog.
 */
export type Claim = 'yes' | 'no' | 'maybe';

/** How big the table is, as far as the linter knows: it ranks a finding's severity. */
export type SizeClass = 'new' | 'small' | 'medium' | 'big' | 'unknown';

/** What a rule finds in one statement, before it is placed and ranked. */
export interface Draft {
  rule: RuleId;
  /** The table whose size ranks the finding (schema-qualified when written so). */
  table?: string;
  message: string;
  lock?: LockClaim;
  rewrite: Claim;
  scan: Claim;
  /** The safe way, in words. */
  safe: string;
  /** The exact SQL of the safe way, where there is one. */
  safeSql?: string;
}

export interface Finding extends Draft {
  severity: Severity;
  /** The file as given (relative to the working directory when below it). */
  file: string;
  line: number;
  column: number;
  /** The statement, whitespace collapsed and shortened. */
  statement: string;
  size: SizeClass;
  /** From the catalog, when the table was looked up. */
  rows?: number;
  bytes?: number;
}

export interface FindingCounts {
  error: number;
  warning: number;
  notice: number;
}

export function countFindings(findings: readonly Finding[]): FindingCounts {
  const counts = { error: 0, warning: 0, notice: 0 };
  for (const f of findings) counts[f.severity]++;
  return counts;
}
