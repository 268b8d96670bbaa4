import { parse } from 'libpg-query';
import { describe, expect, it } from 'vitest';
import { deniedFunctionReason, readOnlyRefusal, statementName, type ParseNode } from './read-only.js';

/** The verdict on one statement, parsed by PostgreSQL's parser as db:query parses it. */
async function verdict(sql: string) {
  const { stmts } = (await parse(sql)) as unknown as { stmts: { stmt: ParseNode }[] };
  expect(stmts, sql).toHaveLength(1);
  return readOnlyRefusal(stmts[0].stmt);
}

const refusedOf = async (sql: string) => (await verdict(sql))?.refused;

describe('what runs without --write', () => {
  it.each([
    'SELECT 1',
    'select id, v from t where id = 1 order by v limit 3',
    'WITH a AS (SELECT 1 AS x), b AS MATERIALIZED (SELECT x FROM a) SELECT * FROM b',
    'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r',
    'VALUES (1, \'a\'), (2, \'b\')',
    'TABLE t',
    'SELECT 1 UNION SELECT 2 EXCEPT SELECT 3',
    'SHOW work_mem',
    'SHOW ALL',
    'EXPLAIN SELECT * FROM t',
    'EXPLAIN (VERBOSE, COSTS off, FORMAT json) SELECT * FROM t',
    'EXPLAIN (ANALYZE false) SELECT 1',
    'EXPLAIN (ANALYZE off) SELECT 1',
    'EXPLAIN (ANALYZE 0) SELECT 1',
    'SELECT pg_size_pretty(pg_database_size(current_database())), pg_size_pretty(pg_total_relation_size(\'t\'))',
    'SELECT pg_get_viewdef(\'v\'::regclass), pg_catalog.pg_get_functiondef(\'f\'::regproc), pg_get_indexdef(1)',
    'SELECT pg_typeof(1), pg_backend_pid(), pg_is_in_recovery(), pg_current_wal_lsn(), pg_blocking_pids(1)',
    'SELECT relname FROM pg_class WHERE pg_table_is_visible(oid) AND pg_stat_get_numscans(oid) > 0',
    'SELECT pid, state FROM pg_stat_activity WHERE cardinality(pg_blocking_pids(pid)) > 0',
    'SELECT pg_sleep(0), currval(\'s\'), current_setting(\'work_mem\'), now(), random()',
    'SELECT t.v, (t).id, count(*) FILTER (WHERE t.v > 0) OVER () FROM t',
    'SELECT table_to_xml(\'t\', true, false, \'\')',
    'SELECT * FROM generate_series(1, 3) g JOIN LATERAL (SELECT g * 2 AS d) x ON true',
  ])('%s', async (sql) => {
    expect(await verdict(sql)).toBeUndefined();
  });
});

describe('statements refused without --write', () => {
  it.each([
    ['INSERT INTO t VALUES (1)', 'INSERT'],
    ['UPDATE t SET v = 1', 'UPDATE'],
    ['DELETE FROM t', 'DELETE'],
    ['MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE', 'MERGE'],
    ['SET work_mem = \'1GB\'', 'SET'],
    ['RESET work_mem', 'RESET'],
    ['DO $$ BEGIN PERFORM 1; END $$', 'DO'],
    ['CALL p()', 'CALL'],
    ['LOCK t', 'LOCK'],
    ['LISTEN c', 'LISTEN'],
    ['NOTIFY c', 'NOTIFY'],
    ['PREPARE q AS SELECT 1', 'PREPARE'],
    ['EXECUTE q', 'EXECUTE'],
    ['DECLARE c CURSOR FOR SELECT 1', 'DECLARE'],
    ['CREATE TABLE x (id int)', 'CREATE TABLE'],
    ['CREATE TABLE x AS SELECT 1', 'CREATE TABLE AS'],
    ['CREATE FUNCTION f() RETURNS int LANGUAGE sql AS \'SELECT 1\'', 'CREATE FUNCTION'],
    ['DROP TABLE t', 'DROP'],
    ['TRUNCATE t', 'TRUNCATE'],
    ['BEGIN', 'a transaction command'],
    ['VACUUM t', 'VACUUM or ANALYZE'],
    ['EXPLAIN INSERT INTO t VALUES (1)', 'INSERT'],
  ])('%s', async (sql, refused) => {
    const refusal = await verdict(sql);
    expect(refusal).toEqual({ refused, reason: expect.stringMatching(/^is not a query: db:query without --write runs only SELECT, WITH … SELECT, VALUES, TABLE, SHOW and EXPLAIN \(without ANALYZE\)$/) });
  });

  it.each([
    ['COPY (SELECT 1) TO PROGRAM \'id\'', 'COPY … TO PROGRAM', 'runs a program on the database server'],
    ['COPY t FROM PROGRAM \'cat /etc/passwd\'', 'COPY … FROM PROGRAM', 'runs a program on the database server'],
    ['COPY t TO \'/tmp/t.csv\'', 'COPY … TO a file', 'writes a file on the database server'],
    ['COPY t FROM \'/etc/passwd\'', 'COPY … FROM a file', 'reads a file on the database server into a table'],
    ['COPY t FROM STDIN', 'COPY … FROM STDIN', 'writes rows into a table'],
    ['COPY t TO STDOUT', 'COPY … TO STDOUT', expect.stringMatching(/^is not a query \(run its SELECT instead\)/)],
    ['SELECT 1 INTO t2', 'SELECT … INTO', 'creates a table'],
    ['SELECT * FROM t FOR UPDATE', 'SELECT … FOR UPDATE', 'locks rows'],
    ['SELECT * FROM (SELECT * FROM t FOR SHARE) s', 'SELECT … FOR SHARE', 'locks rows'],
    ['SELECT * FROM t FOR NO KEY UPDATE SKIP LOCKED', 'SELECT … FOR NO KEY UPDATE', 'locks rows'],
    ['SELECT * FROM t WHERE id IN (SELECT id FROM t FOR KEY SHARE)', 'SELECT … FOR KEY SHARE', 'locks rows'],
    ['WITH a AS (INSERT INTO t VALUES (1) RETURNING *) SELECT * FROM a', 'WITH … INSERT', 'changes data'],
    ['WITH a AS (UPDATE t SET v = 2 RETURNING *) SELECT * FROM a', 'WITH … UPDATE', 'changes data'],
    ['WITH a AS (SELECT 1), b AS (DELETE FROM t RETURNING *) SELECT * FROM a', 'WITH … DELETE', 'changes data'],
    ['WITH m AS (MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE RETURNING t.*) SELECT * FROM m', 'WITH … MERGE', 'changes data'],
    ['EXPLAIN ANALYZE SELECT 1', 'EXPLAIN ANALYZE', 'runs the statement it explains'],
    ['EXPLAIN (ANALYZE, FORMAT json) SELECT 1', 'EXPLAIN ANALYZE', 'runs the statement it explains'],
    ['EXPLAIN (ANALYZE true) SELECT 1', 'EXPLAIN ANALYZE', 'runs the statement it explains'],
    ['EXPLAIN (ANALYZE on) SELECT 1', 'EXPLAIN ANALYZE', 'runs the statement it explains'],
    ['EXPLAIN (ANALYZE 1) SELECT 1', 'EXPLAIN ANALYZE', 'runs the statement it explains'],
    ['explain analyze verbose select 1', 'EXPLAIN ANALYZE', 'runs the statement it explains'],
    ['EXPLAIN ANALYSE SELECT 1', 'EXPLAIN ANALYZE', 'runs the statement it explains'],
    ['EXPLAIN (ANALYSE) SELECT 1', 'EXPLAIN ANALYZE', 'runs the statement it explains'],
  ])('%s', async (sql, refused, reason) => {
    expect(await verdict(sql)).toEqual({ refused, reason });
  });
});

describe('function calls refused anywhere in the statement', () => {
  const kill = 'pg_terminate_backend(42)';
  it.each([
    ['the target list', `SELECT ${kill}`],
    ['a FROM function', `SELECT * FROM ${kill}`],
    ['ROWS FROM', `SELECT * FROM ROWS FROM (generate_series(1, 2), ${kill})`],
    ['a LATERAL function', `SELECT * FROM t, LATERAL ${kill} k`],
    ['WHERE', `SELECT 1 FROM t WHERE ${kill}`],
    ['a JOIN condition', `SELECT 1 FROM t JOIN t u ON ${kill}`],
    ['GROUP BY and HAVING', `SELECT v FROM t GROUP BY v HAVING ${kill}`],
    ['ORDER BY', `SELECT v FROM t ORDER BY ${kill}`],
    ['LIMIT', `SELECT v FROM t LIMIT ${kill}::int`],
    ['a scalar subquery', `SELECT (SELECT ${kill})`],
    ['EXISTS', `SELECT EXISTS (SELECT 1 FROM t WHERE ${kill})`],
    ['IN (subquery)', `SELECT 1 WHERE true IN (SELECT ${kill})`],
    ['a CTE', `WITH a AS (SELECT ${kill}) SELECT * FROM a`],
    ['a recursive CTE', `WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE ${kill}) SELECT * FROM r`],
    ['a UNION branch', `SELECT true UNION SELECT ${kill}`],
    ['VALUES', `VALUES (1, ${kill})`],
    ['an argument of an allowed function', `SELECT coalesce(${kill}, false)`],
    ['a named argument', `SELECT f(arg => ${kill})`],
    ['an aggregate filter', `SELECT count(*) FILTER (WHERE ${kill}) FROM t`],
    ['a window', `SELECT row_number() OVER (PARTITION BY ${kill}) FROM t`],
    ['CASE', `SELECT CASE WHEN v > 0 THEN ${kill} END FROM t`],
    ['a cast', `SELECT ${kill}::text`],
    ['an array', `SELECT ARRAY[${kill}]`],
    ['a row', `SELECT ROW(1, ${kill})`],
    ['XMLTABLE', `SELECT * FROM XMLTABLE('/a' PASSING (${kill}::text::xml) COLUMNS b int)`],
    ['EXPLAIN without ANALYZE', `EXPLAIN SELECT ${kill}`],
  ])('in %s', async (_where, sql) => {
    expect(await verdict(sql)).toEqual({ refused: 'pg_terminate_backend()', reason: 'signals another server process' });
  });

  it.each([
    ['SELECT PG_TERMINATE_BACKEND(1)', 'pg_terminate_backend()'],
    ['SELECT pg_catalog.pg_terminate_backend(1)', 'pg_catalog.pg_terminate_backend()'],
    ['SELECT PG_CATALOG.Pg_Terminate_Backend(1)', 'pg_catalog.pg_terminate_backend()'],
    ['SELECT "pg_catalog"."pg_terminate_backend"(1)', 'pg_catalog.pg_terminate_backend()'],
    ['SELECT "PG_TERMINATE_BACKEND"(1)', 'PG_TERMINATE_BACKEND()'],
    ['SELECT myschema.pg_terminate_backend(1)', 'myschema.pg_terminate_backend()'],
  ])('in any spelling: %s', async (sql, refused) => {
    expect(await verdict(sql)).toEqual({ refused, reason: 'signals another server process' });
  });

  it('attribute notation (x.f calls f(x)) is judged as a call', async () => {
    expect(await verdict('SELECT x.pg_terminate_backend FROM (SELECT 42) x')).toEqual({
      refused: 'x.pg_terminate_backend',
      reason: 'calls pg_terminate_backend(), which signals another server process',
    });
    expect(await refusedOf('SELECT (x).pg_reload_conf FROM (SELECT 1) x')).toBe('(…).pg_reload_conf');
    expect(await refusedOf('SELECT s.t.nextval FROM s')).toBe('s.t.nextval');
    // A bare name is a column, never a call.
    expect(await verdict('SELECT nextval FROM t')).toBeUndefined();
  });
});

describe('the function rules', () => {
  it.each([
    ['pg_read_file', /files on the database server/],
    ['pg_read_binary_file', /files on the database server/],
    ['pg_ls_dir', /files on the database server/],
    ['pg_ls_waldir', /files on the database server/],
    ['pg_ls_logdir', /files on the database server/],
    ['pg_stat_file', /files on the database server/],
    ['pg_file_write', /files on the database server/],
    ['pg_terminate_backend', /^signals another server process$/],
    ['pg_cancel_backend', /^signals another server process$/],
    ['pg_signal_backend', /^signals another server process$/],
    ['pg_reload_conf', /configuration or state/],
    ['set_config', /configuration or state/],
    ['pg_rotate_logfile', /configuration or state/],
    ['pg_promote', /configuration or state/],
    ['pg_switch_wal', /configuration or state/],
    ['pg_create_restore_point', /configuration or state/],
    ['pg_backup_start', /configuration or state/],
    ['pg_backup_stop', /configuration or state/],
    ['pg_stat_reset', /configuration or state/],
    ['lo_import', /large objects/],
    ['lo_export', /large objects/],
    ['lo_unlink', /large objects/],
    ['loread', /large objects/],
    ['lowrite', /large objects/],
    ['pg_advisory_lock', /advisory lock/],
    ['pg_try_advisory_xact_lock_shared', /advisory lock/],
    ['pg_advisory_unlock_all', /advisory lock/],
    ['nextval', /sequence/],
    ['setval', /sequence/],
    ['pg_notify', /notification/],
    ['dblink', /another database/],
    ['dblink_exec', /another database/],
    ['postgres_fdw_disconnect_all', /another database/],
    ['query_to_xml', /runs SQL given as text/],
    ['query_to_xmlschema', /runs SQL given as text/],
    ['query_to_xml_and_xmlschema', /runs SQL given as text/],
    ['cursor_to_xml', /runs SQL given as text/],
    ['ts_stat', /runs SQL given as text/],
    ['txid_current', /transaction ID/],
    ['binary_upgrade_set_next_pg_type_oid', /system catalogs/],
    ['brin_summarize_new_values', /index/],
    // Not named anywhere: refused for being an administration pg_* function.
    ['pg_logical_emit_message', /not on the list of informational pg_\* functions/],
    ['pg_create_logical_replication_slot', /not on the list of informational pg_\* functions/],
    ['pg_drop_replication_slot', /not on the list of informational pg_\* functions/],
    ['pg_import_system_collations', /not on the list of informational pg_\* functions/],
    ['pg_some_function_of_a_later_release', /not on the list of informational pg_\* functions/],
  ])('refuses %s', (name, reason) => {
    expect(deniedFunctionReason(name)).toMatch(reason);
    expect(deniedFunctionReason(name.toUpperCase())).toMatch(reason);
  });

  it.each([
    'pg_size_pretty', 'pg_size_bytes', 'pg_relation_size', 'pg_total_relation_size', 'pg_table_size', 'pg_indexes_size',
    'pg_database_size', 'pg_get_viewdef', 'pg_get_functiondef', 'pg_get_indexdef', 'pg_get_constraintdef', 'pg_get_expr',
    'pg_typeof', 'pg_backend_pid', 'pg_is_in_recovery', 'pg_current_wal_lsn', 'pg_stat_get_live_tuples', 'pg_blocking_pids',
    'pg_table_is_visible', 'pg_sleep', 'pg_postmaster_start_time', 'pg_has_role',
    'now', 'count', 'currval', 'current_setting', 'lower', 'table_to_xml', 'random', 'generate_series', 'has_table_privilege',
  ])('allows %s', (name) => {
    expect(deniedFunctionReason(name)).toBeUndefined();
  });

  it('names statements as they are written', () => {
    expect(statementName('CreateFunctionStmt')).toBe('CREATE FUNCTION');
    expect(statementName('AlterTableStmt')).toBe('ALTER TABLE');
    expect(statementName('VariableSetStmt', { kind: 'VAR_SET_VALUE' })).toBe('SET');
    expect(statementName('VariableSetStmt', { kind: 'VAR_RESET_ALL' })).toBe('RESET');
  });
});
