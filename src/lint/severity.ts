/**
 * A finding's severity: the rule's own, ranked by the size of the table it
 * is about when the catalog is known. Small tables (under 10,000 rows and
 * 10 MB with indexes) make it a notice: the lock is over before anyone
 * notices. Big ones (from 1,000,000 rows or 1 GB) make it an error. A claim
 * the linter cannot be sure of ('maybe') is at most a warning. A severity
 * set in the lint configuration wins over all of this.
 */
import type { TableFacts } from './catalog.js';
import { RULES } from './rules.js';
import type { RuleId, RuleSetting, Severity } from '../lint-rule-ids.js';
import type { Draft, SizeClass } from './types.js';

export const SMALL_TABLE = { rows: 10_000, bytes: 10 * 1024 ** 2 };
export const BIG_TABLE = { rows: 1_000_000, bytes: 1024 ** 3 };

export function sizeClass(facts: TableFacts | undefined): SizeClass {
  if (!facts) return 'unknown';
  if (facts.rows >= BIG_TABLE.rows || facts.bytes >= BIG_TABLE.bytes) return 'big';
  // reltuples is -1 until the table is first vacuumed or analyzed: its size alone decides then.
  if (facts.rows < SMALL_TABLE.rows && facts.bytes < SMALL_TABLE.bytes) return 'small';
  return 'medium';
}

/** undefined: the rule is off. */
export function rankSeverity(draft: Pick<Draft, 'rule' | 'rewrite' | 'scan'>, size: SizeClass, configured?: RuleSetting): Severity | undefined {
  if (configured === 'off') return undefined;
  if (configured) return configured;
  const rule = RULES[draft.rule as RuleId];
  let severity = rule.severity;
  if (rule.sizeRanked && (size === 'small' || size === 'new')) severity = 'notice';
  else if (rule.sizeRanked && size === 'big') severity = 'error';
  const unsure = draft.rewrite === 'maybe' || draft.scan === 'maybe';
  return unsure && severity === 'error' ? 'warning' : severity;
}
