/**
 * The record of what each step changed, kept by the scratch database itself:
 * two event triggers write every object a DDL command created, altered or
 * dropped (cascades included) to a table of tidemark's own schema, which the
 * fingerprint leaves out. Event triggers need a superuser; without one the
 * schema is read whole at every turn instead.
 */
import type pg from 'pg';

/** The schema of the record in a scratch database (left out of every fingerprint taken there). */
export const DDL_LOG_SCHEMA = 'tidemark_scratch';

/**
 * A GRANT or REVOKE names no object to an event trigger: the objects whose
 * privileges it changed are those whose catalog rows this transaction wrote
 * (`age(xmin) <= 0`: the transaction's own rows and its subtransactions').
 * The same stands in for the partition an ALTER TABLE … DETACH PARTITION
 * changes without naming it.
 */
const SETUP = `
CREATE SCHEMA ${DDL_LOG_SCHEMA};
CREATE UNLOGGED TABLE ${DDL_LOG_SCHEMA}.ddl_log (classid oid, objid oid, whole boolean, dropped boolean NOT NULL, tag text NOT NULL);
CREATE FUNCTION ${DDL_LOG_SCHEMA}.log_ddl() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $log$
BEGIN
  INSERT INTO ${DDL_LOG_SCHEMA}.ddl_log SELECT classid, objid, objsubid = 0, false, command_tag FROM pg_event_trigger_ddl_commands()
    WHERE command_tag NOT IN ('GRANT', 'REVOKE');
  IF TG_TAG = 'DROP OWNED' THEN
    -- Revokes what it does not drop, and names nothing: the next read is whole.
    INSERT INTO ${DDL_LOG_SCHEMA}.ddl_log VALUES (NULL, NULL, NULL, false, TG_TAG);
  ELSIF EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands() WHERE command_tag IN ('GRANT', 'REVOKE')) THEN
    INSERT INTO ${DDL_LOG_SCHEMA}.ddl_log
      SELECT 'pg_class'::regclass, oid, true, false, 'GRANT' FROM pg_class WHERE age(xmin) <= 0
      UNION SELECT 'pg_class'::regclass, attrelid, true, false, 'GRANT' FROM pg_attribute WHERE age(xmin) <= 0
      UNION SELECT 'pg_proc'::regclass, oid, true, false, 'GRANT' FROM pg_proc WHERE age(xmin) <= 0
      UNION SELECT 'pg_namespace'::regclass, oid, true, false, 'GRANT' FROM pg_namespace WHERE age(xmin) <= 0
      UNION SELECT 'pg_type'::regclass, oid, true, false, 'GRANT' FROM pg_type WHERE age(xmin) <= 0;
  ELSIF EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'ALTER TABLE') THEN
    -- DETACH PARTITION names the parent, and the partition no longer depends on it.
    INSERT INTO ${DDL_LOG_SCHEMA}.ddl_log SELECT 'pg_class'::regclass, oid, true, false, 'WRITTEN' FROM pg_class WHERE age(xmin) <= 0;
  END IF;
END $log$;
CREATE FUNCTION ${DDL_LOG_SCHEMA}.log_drop() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $log$
BEGIN
  INSERT INTO ${DDL_LOG_SCHEMA}.ddl_log SELECT classid, objid, objsubid = 0, true, 'DROP' FROM pg_event_trigger_dropped_objects();
END $log$;
CREATE EVENT TRIGGER tidemark_scratch_ddl ON ddl_command_end EXECUTE FUNCTION ${DDL_LOG_SCHEMA}.log_ddl();
CREATE EVENT TRIGGER tidemark_scratch_drop ON sql_drop EXECUTE FUNCTION ${DDL_LOG_SCHEMA}.log_drop();
-- Also when a migration sets session_replication_role = replica.
ALTER EVENT TRIGGER tidemark_scratch_ddl ENABLE ALWAYS;
ALTER EVENT TRIGGER tidemark_scratch_drop ENABLE ALWAYS;`;

/**
 * Starts the record in the database the client is connected to; false when
 * it cannot be kept there (not a superuser, or the schema's name is taken by
 * the starting point's schema), and nothing is left behind.
 */
export async function startDdlLog(client: pg.ClientBase): Promise<boolean> {
  const { rows } = await client.query<{ able: boolean }>(
    `SELECT rolsuper AND to_regnamespace($1) IS NULL AS able FROM pg_roles WHERE rolname = current_user`, [DDL_LOG_SCHEMA]);
  if (!rows[0]?.able) return false;
  await client.query('BEGIN');
  try {
    await client.query(SETUP);
    await client.query('COMMIT');
    return true;
  } catch {
    await client.query('ROLLBACK');
    return false;
  }
}

/**
 * Commands after which only a whole reading is sure to be right: those that
 * name no object (the record has no class for them: ALTER DEFAULT PRIVILEGES,
 * which may also delete the row it would name) and ALTER EXTENSION,
 * which moves objects in or out of an extension without touching them.
 */
export const READ_WHOLE_AFTER = `l.classid IS NULL OR l.tag = 'ALTER EXTENSION'`;

/**
 * Commands whose effects reach other objects than the one they name: a
 * rename changes how dependents print, and an index or a trigger made on a
 * partitioned table is made on each partition too. The dependents of what
 * they name are read again with it.
 */
export const WIDENING = `l.tag LIKE 'ALTER %' OR l.tag IN ('CREATE INDEX', 'CREATE TRIGGER')`;
