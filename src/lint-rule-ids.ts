/**
 * The lint rules' stable names. A leaf module of constants: the settings
 * loader validates a lint configuration against it without loading the rules.
 */
export const RULE_IDS = [
  'index-not-concurrent',
  'drop-index-not-concurrent',
  'reindex-not-concurrent',
  'concurrently-in-transaction',
  'column-type-rewrites',
  'set-not-null-scans',
  'add-column-volatile-default',
  'add-column-generated-stored',
  'add-column-serial',
  'foreign-key-not-valid',
  'check-not-valid',
  'unique-without-index',
  'rename-table',
  'rename-column',
  'drop-table',
  'drop-column',
  'drop-cascade',
  'truncate',
  'vacuum-full',
  'cluster',
  'missing-lock-timeout',
  'data-update-with-ddl',
  'enum-add-value-in-transaction',
  'parse-error',
  'ignore-without-reason',
  'unmatched-ignore',
] as const;

export type RuleId = (typeof RULE_IDS)[number];

export type Severity = 'error' | 'warning' | 'notice';

/** What a lint configuration may set a rule to. */
export type RuleSetting = Severity | 'off';

export const RULE_SETTINGS: readonly RuleSetting[] = ['error', 'warning', 'notice', 'off'];

export function isRuleId(value: string): value is RuleId {
  return (RULE_IDS as readonly string[]).includes(value);
}
