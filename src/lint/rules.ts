import type { RuleId, Severity } from '../lint-rule-ids.js';

export interface RuleInfo {
  /** The severity when the table's size is unknown (no database) or in the middle range. */
  severity: Severity;
  /** Whether the table's size ranks it: small tables make it a notice, big ones an error. */
  sizeRanked: boolean;
  /** One line for the documentation and `--help`. */
  summary: string;
}

const ranked = (severity: Severity, summary: string): RuleInfo => ({ severity, sizeRanked: true, summary });
const fixed = (severity: Severity, summary: string): RuleInfo => ({ severity, sizeRanked: false, summary });

/** Every rule, documented: the manual's table is written from this list. */
export const RULES: Record<RuleId, RuleInfo> = {
  'index-not-concurrent': ranked('error', 'CREATE INDEX without CONCURRENTLY on an existing table blocks writes for the whole build'),
  'drop-index-not-concurrent': ranked('warning', 'DROP INDEX without CONCURRENTLY takes ACCESS EXCLUSIVE on the table: reads and writes queue behind it'),
  'reindex-not-concurrent': ranked('error', 'REINDEX without CONCURRENTLY blocks writes, and reads that use the index, for the whole rebuild'),
  'concurrently-in-transaction': fixed('error', 'CONCURRENTLY cannot run in a transaction: the file needs -- tidemark:no-transaction'),
  'column-type-rewrites': ranked('error', 'ALTER COLUMN ... TYPE that is not binary-coercible rewrites the table under ACCESS EXCLUSIVE'),
  'set-not-null-scans': ranked('error', 'SET NOT NULL scans the whole table under ACCESS EXCLUSIVE unless a validated CHECK proves it'),
  'add-column-volatile-default': ranked('error', 'ADD COLUMN with a volatile default (any default before PostgreSQL 11) rewrites the table'),
  'add-column-generated-stored': ranked('error', 'ADD COLUMN ... GENERATED ... STORED rewrites the table under ACCESS EXCLUSIVE'),
  'add-column-serial': ranked('error', 'ADD COLUMN serial/bigserial or an identity column fills every row: a rewrite under ACCESS EXCLUSIVE'),
  'foreign-key-not-valid': ranked('error', 'ADD FOREIGN KEY without NOT VALID scans the table while blocking writes on both tables'),
  'check-not-valid': ranked('error', 'ADD CHECK without NOT VALID scans the table under ACCESS EXCLUSIVE'),
  'unique-without-index': ranked('error', 'ADD UNIQUE/PRIMARY KEY/EXCLUDE builds its index under ACCESS EXCLUSIVE: use an index built CONCURRENTLY'),
  'rename-table': fixed('warning', 'renaming a table breaks the code still deployed that uses the old name'),
  'rename-column': fixed('warning', 'renaming a column breaks the code still deployed that uses the old name'),
  'drop-table': fixed('warning', 'dropping a table breaks the code still deployed that uses it, and loses its data'),
  'drop-column': fixed('warning', 'dropping a column breaks the code still deployed that uses it'),
  'drop-cascade': fixed('error', 'DROP ... CASCADE also drops whatever depends on the object, unseen in the migration'),
  'truncate': ranked('error', 'TRUNCATE deletes every row under ACCESS EXCLUSIVE'),
  'vacuum-full': ranked('error', 'VACUUM FULL rewrites the table under ACCESS EXCLUSIVE'),
  'cluster': ranked('error', 'CLUSTER rewrites the table under ACCESS EXCLUSIVE'),
  'missing-lock-timeout': fixed('warning', 'DDL that waits for its lock queues every query behind it: set lock_timeout'),
  'data-update-with-ddl': ranked('warning', 'UPDATE/DELETE/INSERT...SELECT in the same transaction as DDL on the same table holds the DDL lock for the whole update'),
  'enum-add-value-in-transaction': fixed('error', 'ALTER TYPE ... ADD VALUE cannot run in a transaction before PostgreSQL 12'),
  'parse-error': fixed('error', 'the file is not valid SQL for PostgreSQL\'s parser'),
  'ignore-without-reason': fixed('error', 'a -- tidemark:lint-ignore comment without a reason (it ignores nothing)'),
  'unmatched-ignore': fixed('warning', 'a -- tidemark:lint-ignore comment that matches no finding on the next statement'),
};
