/**
 * Whether one parsed statement is a read-only query, decided from
 * PostgreSQL's own parse tree (libpg-query's JSON form), before anything
 * reaches the server. A read-only transaction alone does not stop COPY TO
 * PROGRAM, server files, signals to other sessions or configuration reloads;
 * this check does, and the read-only transaction stays behind it for what no
 * parse tree shows (the body of a user's function, a view's definition).
 *
 * Allowed: SELECT, WITH … SELECT, VALUES, TABLE, SHOW, and EXPLAIN without
 * ANALYZE of those, calling no function with a side effect. Functions are
 * judged by name: a deny-list by kind of effect, and every `pg_*` function
 * that is not on an allow-list of informational ones.
 */

/** A node of libpg-query's JSON parse tree: `{ SelectStmt: {...} }`, `{ FuncCall: {...} }`. */
export type ParseNode = Record<string, unknown>;

export interface Refusal {
  /** What was refused, as written: `COPY … TO PROGRAM`, `pg_catalog.pg_terminate_backend()`. */
  refused: string;
  /** Why, in plain words, continuing a sentence that starts with `refused`. */
  reason: string;
}

const ALLOWED = 'db:query without --write runs only SELECT, WITH … SELECT, VALUES, TABLE, SHOW and EXPLAIN (without ANALYZE)';

/** Why a statement is refused, or undefined when it is a read-only query. */
export function readOnlyRefusal(stmt: ParseNode): Refusal | undefined {
  return statementRefusal(stmt) ?? treeRefusal(stmt);
}

function statementRefusal(stmt: ParseNode): Refusal | undefined {
  const [type, body] = Object.entries(stmt)[0] as [string, ParseNode];
  if (type === 'SelectStmt' || type === 'VariableShowStmt') return undefined;
  if (type === 'ExplainStmt') {
    if (explainAnalyzes(body)) return { refused: 'EXPLAIN ANALYZE', reason: 'runs the statement it explains' };
    return statementRefusal(body.query as ParseNode);
  }
  if (type === 'CopyStmt') return copyRefusal(body);
  return { refused: statementName(type, body), reason: `is not a query: ${ALLOWED}` };
}

const FALSE_WORDS = new Set(['false', 'off', 'no', '0']);

function explainAnalyzes(explain: ParseNode): boolean {
  const options = (explain.options ?? []) as { DefElem: { defname: string; arg?: ParseNode } }[];
  return options.some(({ DefElem: option }) => option.defname.toLowerCase() === 'analyze' && !isFalse(option.arg));
}

/** `ANALYZE false`, `ANALYZE off`, `ANALYZE 0`; a bare `ANALYZE` means true. */
function isFalse(arg: ParseNode | undefined): boolean {
  if (!arg) return false;
  if ('String' in arg) return FALSE_WORDS.has(String((arg.String as { sval?: string }).sval).toLowerCase());
  if ('Integer' in arg) return !(arg.Integer as { ival?: number }).ival;
  if ('Boolean' in arg) return !(arg.Boolean as { boolval?: boolean }).boolval;
  return false;
}

function copyRefusal(copy: ParseNode): Refusal {
  const direction = copy.is_from ? 'FROM' : 'TO';
  if (copy.is_program) return { refused: `COPY … ${direction} PROGRAM`, reason: 'runs a program on the database server' };
  if (copy.filename !== undefined) {
    return copy.is_from
      ? { refused: 'COPY … FROM a file', reason: 'reads a file on the database server into a table' }
      : { refused: 'COPY … TO a file', reason: 'writes a file on the database server' };
  }
  if (copy.is_from) return { refused: 'COPY … FROM STDIN', reason: 'writes rows into a table' };
  return { refused: 'COPY … TO STDOUT', reason: `is not a query (run its SELECT instead): ${ALLOWED}` };
}

// Node names that do not read as their SQL once "Stmt" is dropped.
const STATEMENT_NAMES: Record<string, string> = {
  VariableSetStmt: 'SET',
  TransactionStmt: 'a transaction command',
  ClosePortalStmt: 'CLOSE',
  DeclareCursorStmt: 'DECLARE',
  CreateStmt: 'CREATE TABLE',
  ViewStmt: 'CREATE VIEW',
  IndexStmt: 'CREATE INDEX',
  RuleStmt: 'CREATE RULE',
  CreatedbStmt: 'CREATE DATABASE',
  DropdbStmt: 'DROP DATABASE',
  GrantStmt: 'GRANT or REVOKE',
  VacuumStmt: 'VACUUM or ANALYZE',
  CheckPointStmt: 'CHECKPOINT',
  PLAssignStmt: 'an assignment',
};

/** `LockStmt` → `LOCK`, `CreateFunctionStmt` → `CREATE FUNCTION`. */
export function statementName(type: string, body: ParseNode = {}): string {
  if (type === 'VariableSetStmt' && String(body.kind).startsWith('VAR_RESET')) return 'RESET';
  return STATEMENT_NAMES[type] ?? type.replace(/Stmt$/, '').replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase();
}

const LOCK_STRENGTHS: Record<string, string> = {
  LCS_FORKEYSHARE: 'FOR KEY SHARE',
  LCS_FORSHARE: 'FOR SHARE',
  LCS_FORNOKEYUPDATE: 'FOR NO KEY UPDATE',
  LCS_FORUPDATE: 'FOR UPDATE',
};
const WRITING_STATEMENTS = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);

/** The first refusal anywhere in the tree: every subquery, CTE, FROM item, expression and argument. */
function treeRefusal(node: unknown): Refusal | undefined {
  if (Array.isArray(node)) {
    for (const item of node) {
      const refusal = treeRefusal(item);
      if (refusal) return refusal;
    }
    return undefined;
  }
  if (node === null || typeof node !== 'object') return undefined;
  for (const [key, value] of Object.entries(node)) {
    const refusal = nodeRefusal(key, value as ParseNode) ?? treeRefusal(value);
    if (refusal) return refusal;
  }
  return undefined;
}

type NameList = ({ String?: { sval: string } } & ParseNode)[];

function nodeRefusal(type: string, body: ParseNode): Refusal | undefined {
  if (type === 'FuncCall') return functionRefusal(body.funcname as NameList);
  if (type === 'ColumnRef') return attributeRefusal((body.fields as NameList).slice(1), writtenNames(body.fields as NameList));
  if (type === 'A_Indirection') return attributeRefusal(body.indirection as NameList, `(…).${writtenNames(body.indirection as NameList)}`);
  if (WRITING_STATEMENTS.has(type)) return { refused: `WITH … ${statementName(type)}`, reason: 'changes data' };
  if (type !== 'SelectStmt') return undefined;
  if (body.intoClause) return { refused: 'SELECT … INTO', reason: 'creates a table' };
  const locking = body.lockingClause as { LockingClause: { strength: string } }[] | undefined;
  if (locking?.length) {
    const strength = LOCK_STRENGTHS[locking[0].LockingClause.strength] ?? 'FOR UPDATE/SHARE';
    return { refused: `SELECT … ${strength}`, reason: 'locks rows' };
  }
  return undefined;
}

const nameOf = (part: { String?: { sval: string } }) => part.String?.sval;

function functionRefusal(funcname: NameList): Refusal | undefined {
  const written = funcname.map(nameOf).join('.');
  const reason = deniedFunctionReason(nameOf(funcname[funcname.length - 1]) ?? '');
  return reason ? { refused: `${written}()`, reason } : undefined;
}

/**
 * `x.f` and `(x).f` call f(x) when x is a row and no column f exists
 * (PostgreSQL's attribute notation): a name after the first is judged as a
 * function too. A qualified column that happens to share a denied name is
 * refused with it.
 */
function attributeRefusal(names: NameList, written: string): Refusal | undefined {
  for (const name of names.map(nameOf)) {
    const reason = name === undefined ? undefined : deniedFunctionReason(name);
    if (reason) return { refused: written, reason: `calls ${name}(), which ${reason}` };
  }
  return undefined;
}

const writtenNames = (names: NameList) => names.map((part) => nameOf(part) ?? ('A_Star' in part ? '*' : '[…]')).join('.');

interface FunctionRule {
  names: RegExp;
  reason: string;
}

// Checked in order; the first match decides. Names are compared in lower
// case whatever the schema: a function of the same name in another schema
// is refused too (it cannot be vetted either).
const DENIED_FUNCTIONS: FunctionRule[] = [
  {
    names: /^(pg_read_file|pg_read_binary_file|pg_ls_\w+|pg_stat_file|pg_file_\w+|pg_logdir_ls|pg_current_logfile)$/,
    reason: 'reads or writes files on the database server',
  },
  { names: /^(pg_terminate_backend|pg_cancel_backend|pg_signal_backend|pg_log_backend_memory_contexts)$/, reason: 'signals another server process' },
  {
    names: new RegExp('^(pg_reload_conf|set_config|pg_rotate_logfile\\w*|pg_promote|pg_switch_wal|pg_create_restore_point'
      + '|pg_(start|stop)_backup|pg_backup_(start|stop)|pg_wal_replay_(pause|resume)|pg_stat_reset\\w*)$'),
    reason: "changes the server's configuration or state",
  },
  { names: /^(lo_\w+|loread|lowrite)$/, reason: 'reads or writes large objects' },
  { names: /^pg_(try_)?advisory_\w+$/, reason: 'takes or releases an advisory lock' },
  { names: /^(nextval|setval)$/, reason: 'advances or sets a sequence, which no rollback undoes' },
  { names: /^pg_notify$/, reason: 'sends a notification to listening sessions' },
  { names: /^(dblink\w*|postgres_fdw_\w+)$/, reason: 'reaches another database or server' },
  {
    names: /^(query_to_xml\w*|cursor_to_xml\w*|ts_stat|ts_rewrite|crosstab\d*|connectby)$/,
    reason: 'runs SQL given as text, which cannot be checked',
  },
  { names: /^(brin_summarize_\w+|brin_desummarize_range|gin_clean_pending_list)$/, reason: 'changes an index' },
  { names: /^(txid_current|pg_current_xact_id)$/, reason: 'assigns a transaction ID' },
  { names: /^binary_upgrade_\w+$/, reason: 'writes the system catalogs (it is for pg_upgrade)' },
];

// The pg_* functions that only report: sizes, definitions, statistics,
// visibility, WAL positions, settings and the like. Every other pg_* function
// is refused, so that an administration function added in a later PostgreSQL
// release is refused until it is known to be harmless.
const INFORMATIONAL_PG_FUNCTIONS = new RegExp(`^pg_(${[
  'get_\\w+', 'stat_get_\\w+', '\\w+_is_visible', 'typeof', 'collation_for', 'sleep', 'sleep_for', 'sleep_until',
  'size_pretty', 'size_bytes', 'relation_size', 'total_relation_size', 'table_size', 'indexes_size', 'database_size',
  'tablespace_size', 'column_size', 'column_compression', 'relation_filenode', 'relation_filepath', 'filenode_relation',
  'backend_pid', 'blocking_pids', 'safe_snapshot_blocking_pids', 'is_in_recovery', 'is_wal_replay_paused',
  'current_wal_lsn', 'current_wal_insert_lsn', 'current_wal_flush_lsn', 'last_wal_receive_lsn', 'last_wal_replay_lsn',
  'last_xact_replay_timestamp', 'wal_lsn_diff', 'walfile_name', 'walfile_name_offset',
  'postmaster_start_time', 'conf_load_time', 'jit_available', 'has_role', 'my_temp_schema', 'is_other_temp_schema',
  'encoding_to_char', 'char_to_encoding', 'client_encoding', 'encoding_max_length',
  'describe_object', 'identify_object', 'identify_object_as_address', 'index_column_has_property', 'index_has_property',
  'indexam_has_property', 'options_to_table', 'tablespace_location', 'tablespace_databases', 'trigger_depth',
  'xact_commit_timestamp', 'last_committed_xact', 'current_xact_id_if_assigned', 'current_snapshot', 'snapshot_xmin',
  'snapshot_xmax', 'snapshot_xip', 'visible_in_snapshot', 'xact_status',
  'control_checkpoint', 'control_system', 'control_init', 'control_recovery',
  'available_extensions', 'available_extension_versions', 'lock_status', 'partition_tree', 'partition_ancestors',
  'partition_root', 'sequence_last_value', 'sequence_parameters', 'input_is_valid', 'input_error_info',
  'show_all_settings', 'settings_get_flags', 'timezone_names', 'timezone_abbrevs', 'cursor', 'prepared_statement',
  'prepared_xact', 'notification_queue_usage', 'listening_channels', 'column_is_updatable', 'relation_is_updatable',
  'relation_is_publishable', 'collation_actual_version', 'database_collation_actual_version', 'mcv_list_items',
].join('|')})$`);

/** Why a function (by its unqualified name) is refused, or undefined when it may be called. */
export function deniedFunctionReason(name: string): string | undefined {
  const lower = name.toLowerCase();
  const rule = DENIED_FUNCTIONS.find((r) => r.names.test(lower));
  if (rule) return rule.reason;
  if (lower.startsWith('pg_') && !INFORMATIONAL_PG_FUNCTIONS.test(lower)) {
    return 'is a server function not on the list of informational pg_* functions (sizes, definitions, statistics…)';
  }
  return undefined;
}
