/**
 * The catalog queries behind a schema fingerprint: one row per object,
 * (kind, name, attrs), where attrs is a jsonb of what a migration can change
 * about it. Only logical facts: no OIDs, no sizes, no tablespaces, no
 * statistics, and column order as a rank (dropped columns leave gaps in
 * attnum that a dump and restore closes).
 *
 * Version differences that are normalised away (PostgreSQL 15 to 18):
 * NOT NULL constraints (pg_constraint rows from 18) are left to the column's
 * notNull; the MAINTAIN privilege (17+) is not compared; privileges are
 * compared as differences from the object kind's default ACL, so a NULL ACL
 * and an explicit one that equals the default are the same.
 */
import pg from 'pg';

export interface CatalogQueryOptions {
  /** Compare the owner of each object (off by default: a restore as another user changes it). */
  owners?: boolean;
  /** Quoted, schema-qualified tables left out with everything that belongs to them (the migration tables). */
  exclude?: string[];
  /** Schemas left out with everything in them (verify's own bookkeeping in a scratch database). */
  excludeSchemas?: string[];
}

/**
 * How a row of the fingerprint is kept up to date. Every row belongs to a
 * unit, the object whose catalog rows it is read from as a whole (a table
 * for its columns, constraints, indexes, triggers, rules and policies; a type
 * for its domain constraints; else the object itself), and comes from one
 * object (`obj`: the constraint, the index, the column default, ...), by
 * which a dropped object finds the unit it belonged to.
 */
export type UnitCatalog = 'pg_namespace' | 'pg_class' | 'pg_proc' | 'pg_type' | 'pg_extension' | 'pg_statistic_ext' | 'pg_default_acl';

/**
 * Which rows to read: all, or those of the units listed, by catalog, as SQL
 * expressions of an oid[] (a parameter such as `$1`); the parts of a catalog
 * not listed are left out of the statement.
 */
export type RowScope = 'all' | Partial<Record<UnitCatalog, string>>;

const cls = (catalog: string) => `'${catalog}'::regclass::oid`;

/** The unit and object columns of a row. */
const keyed = (unit: string, unitOid: string, obj: string, objOid: string) => `${cls(unit)}, ${unitOid}, ${cls(obj)}, ${objOid},`;

/** The condition that keeps a part to the listed units. */
const inUnits = (scope: RowScope, unit: UnitCatalog, unitOid: string) => (scope === 'all' ? '' : ` AND ${unitOid} = ANY(${scope[unit]})`);

const SYSTEM_NAMESPACE = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)'`;

/** Objects an extension installed are its own: the extension and its version stand for them. */
const notExtensionMember = (catalog: string, oid: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '${catalog}'::regclass AND e.objid = ${oid} AND e.deptype = 'e')`;

function aclEntries(acl: string): string {
  return `SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' WHEN a.grantee = o.owner THEN 'OWNER' ELSE pg_get_userbyid(a.grantee) END
      || ':' || a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END FROM aclexplode(${acl}) a WHERE a.privilege_type <> 'MAINTAIN'`;
}

/** Privileges that differ from the default: `role:PRIV` granted, `-role:PRIV` revoked; NULL when none differ. */
function aclSql(acl: string, kind: string, owner: string): string {
  const actual = `coalesce(${acl}, acldefault('${kind}', o.owner))`;
  const base = `acldefault('${kind}', o.owner)`;
  // A NULL ACL is the default: nothing to compare (most objects, and the costly part skipped).
  return `CASE WHEN ${acl} IS NOT NULL THEN (SELECT jsonb_agg(x.e ORDER BY x.e COLLATE "C") FROM (SELECT ${owner} AS owner) o, LATERAL (
      (${aclEntries(actual)} EXCEPT ${aclEntries(base)})
      UNION ALL
      (SELECT '-' || r.e FROM (${aclEntries(base)} EXCEPT ${aclEntries(actual)}) r(e))
    ) x(e)) END`;
}

function userNamespace(o: CatalogQueryOptions): string {
  const excluded = (o.excludeSchemas ?? []).map((name) => ` AND n.nspname <> ${pg.escapeLiteral(name)}`).join('');
  return SYSTEM_NAMESPACE + excluded;
}

function ownerSql(options: CatalogQueryOptions, owner: string): string {
  return options.owners ? `, 'owner', pg_get_userbyid(${owner})` : '';
}

/** pg_description read directly: obj_description() is a SQL function that looks the catalog up by name on every call. */
const describe = (oid: string, catalog: string, sub = '0') =>
  `(SELECT d.description FROM pg_description d WHERE d.objoid = ${oid} AND d.classoid = '${catalog}'::regclass AND d.objsubid = ${sub})`;

function schemas(o: CatalogQueryOptions, scope: RowScope): string {
  return `SELECT ${keyed('pg_namespace', 'n.oid', 'pg_namespace', 'n.oid')} 'schema', n.nspname, jsonb_build_object('acl', ${aclSql('n.nspacl', 'n', 'n.nspowner')}, 'comment', ${describe('n.oid', 'pg_namespace')}${ownerSql(o, 'n.nspowner')})
    FROM pg_namespace n WHERE ${userNamespace(o)} AND ${notExtensionMember('pg_namespace', 'n.oid')}${inUnits(scope, 'pg_namespace', 'n.oid')}`;
}

const RELATION_KIND = `CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'f' THEN 'foreign table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' END`;

function relations(o: CatalogQueryOptions, scope: RowScope): string {
  const parent = `(SELECT pn.nspname || '.' || p.relname FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = p.relnamespace WHERE i.inhrelid = c.oid AND c.relispartition)`;
  const inherits = `(SELECT jsonb_agg(pn.nspname || '.' || p.relname ORDER BY i.inhseqno) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = p.relnamespace WHERE i.inhrelid = c.oid AND NOT c.relispartition)`;
  return `SELECT ${keyed('pg_class', 'c.oid', 'pg_class', 'c.oid')} ${RELATION_KIND}, n.nspname || '.' || c.relname, jsonb_build_object(
      'partitionKey', CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
      'partitionOf', ${parent},
      'bound', CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END,
      'inherits', ${inherits},
      'unlogged', CASE WHEN c.relpersistence = 'u' THEN true END,
      'options', to_jsonb(c.reloptions),
      'definition', CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END,
      'rowSecurity', CASE WHEN c.relforcerowsecurity THEN 'forced' WHEN c.relrowsecurity THEN 'enabled' END,
      'acl', ${aclSql('c.relacl', 'r', 'c.relowner')},
      'comment', ${describe('c.oid', 'pg_class')}${ownerSql(o, 'c.relowner')})
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm') AND ${userNamespace(o)} AND ${notExtensionMember('pg_class', 'c.oid')} AND c.oid NOT IN (SELECT oid FROM skip)${inUnits(scope, 'pg_class', 'c.oid')}`;
}

function columns(o: CatalogQueryOptions, scope: RowScope): string {
  const collation = `(SELECT cn.nspname || '.' || co.collname FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation)`;
  return `SELECT ${cls('pg_class')}, c.oid, CASE WHEN d.oid IS NULL THEN ${cls('pg_class')} ELSE ${cls('pg_attrdef')} END, coalesce(d.oid, c.oid), 'column', n.nspname || '.' || c.relname || '.' || a.attname, jsonb_build_object(
      'position', row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum),
      'type', format_type(a.atttypid, a.atttypmod),
      'notNull', CASE WHEN a.attnotnull THEN true END,
      'default', CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END,
      'generated', CASE a.attgenerated WHEN 's' THEN 'stored ' WHEN 'v' THEN 'virtual ' END || pg_get_expr(d.adbin, d.adrelid),
      'identity', CASE a.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' END,
      'collation', CASE WHEN a.attcollation <> t.typcollation THEN ${collation} END,
      'acl', ${aclSql('a.attacl', 'c', 'c.relowner')},
      'comment', ${describe('a.attrelid', 'pg_class', 'a.attnum')})
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'f') AND ${userNamespace(o)}
      AND ${notExtensionMember('pg_class', 'c.oid')} AND c.oid NOT IN (SELECT oid FROM skip)${inUnits(scope, 'pg_class', 'c.oid')}`;
}

/** Table constraints; NOT NULL (contype n, PostgreSQL 18) is the column's notNull. */
function constraints(o: CatalogQueryOptions, scope: RowScope): string {
  return `SELECT ${keyed('pg_class', 'c.oid', 'pg_constraint', 'k.oid')} 'constraint', n.nspname || '.' || c.relname || '.' || k.conname, jsonb_build_object(
      'definition', pg_get_constraintdef(k.oid), 'comment', ${describe('k.oid', 'pg_constraint')})
    FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE k.contype <> 'n' AND ${userNamespace(o)} AND ${notExtensionMember('pg_class', 'c.oid')} AND c.oid NOT IN (SELECT oid FROM skip)${inUnits(scope, 'pg_class', 'c.oid')}`;
}

function indexes(o: CatalogQueryOptions, scope: RowScope): string {
  return `SELECT ${keyed('pg_class', 't.oid', 'pg_class', 'i.oid')} 'index', n.nspname || '.' || i.relname, jsonb_build_object(
      'table', n.nspname || '.' || t.relname, 'definition', pg_get_indexdef(i.oid),
      'valid', CASE WHEN NOT x.indisvalid THEN false END, 'comment', ${describe('i.oid', 'pg_class')})
    FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = i.relnamespace
    WHERE ${userNamespace(o)} AND ${notExtensionMember('pg_class', 't.oid')} AND t.oid NOT IN (SELECT oid FROM skip)${inUnits(scope, 'pg_class', 't.oid')}`;
}

function sequences(o: CatalogQueryOptions, scope: RowScope): string {
  const ownedBy = `(SELECT tn.nspname || '.' || t.relname || '.' || a.attname || CASE d.deptype WHEN 'i' THEN ' (identity)' ELSE '' END
      FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace
      JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))`;
  return `SELECT ${keyed('pg_class', 'c.oid', 'pg_class', 'c.oid')} 'sequence', n.nspname || '.' || c.relname, jsonb_build_object(
      'type', format_type(s.seqtypid, NULL), 'start', s.seqstart::text, 'increment', s.seqincrement::text,
      'min', s.seqmin::text, 'max', s.seqmax::text, 'cache', s.seqcache::text, 'cycle', CASE WHEN s.seqcycle THEN true END,
      'unlogged', CASE WHEN c.relpersistence = 'u' THEN true END, 'ownedBy', ${ownedBy},
      'acl', ${aclSql('c.relacl', 's', 'c.relowner')}, 'comment', ${describe('c.oid', 'pg_class')}${ownerSql(o, 'c.relowner')})
    FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE ${userNamespace(o)} AND ${notExtensionMember('pg_class', 'c.oid')} AND c.oid NOT IN (SELECT oid FROM skip)${inUnits(scope, 'pg_class', 'c.oid')}`;
}

function routines(o: CatalogQueryOptions, scope: RowScope): string {
  const aggregate = `(SELECT jsonb_build_object('transition', g.aggtransfn::text, 'state', format_type(g.aggtranstype, NULL),
      'final', g.aggfinalfn::text, 'initial', g.agginitval) FROM pg_aggregate g WHERE g.aggfnoid = p.oid)`;
  return `SELECT ${keyed('pg_proc', 'p.oid', 'pg_proc', 'p.oid')} CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END,
      n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')', jsonb_build_object(
      'definition', CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END,
      'aggregate', CASE WHEN p.prokind = 'a' THEN ${aggregate} END,
      'acl', ${aclSql('p.proacl', 'f', 'p.proowner')}, 'comment', ${describe('p.oid', 'pg_proc')}${ownerSql(o, 'p.proowner')})
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE ${userNamespace(o)} AND ${notExtensionMember('pg_proc', 'p.oid')}
      -- The constructors a range type makes for itself come and go with it.
      AND NOT EXISTS (SELECT 1 FROM pg_depend i WHERE i.classid = 'pg_proc'::regclass AND i.objid = p.oid AND i.deptype = 'i')${inUnits(scope, 'pg_proc', 'p.oid')}`;
}

function triggersAndRules(o: CatalogQueryOptions, scope: RowScope): string {
  const on = `JOIN pg_class c ON c.oid = %REL% JOIN pg_namespace n ON n.oid = c.relnamespace`;
  const where = `${userNamespace(o)} AND ${notExtensionMember('pg_class', 'c.oid')} AND c.oid NOT IN (SELECT oid FROM skip)${inUnits(scope, 'pg_class', 'c.oid')}`;
  return `SELECT ${keyed('pg_class', 'c.oid', 'pg_trigger', 'g.oid')} 'trigger', n.nspname || '.' || c.relname || '.' || g.tgname, jsonb_build_object(
      'definition', pg_get_triggerdef(g.oid),
      'enabled', CASE g.tgenabled WHEN 'D' THEN 'disabled' WHEN 'R' THEN 'replica' WHEN 'A' THEN 'always' END,
      'comment', ${describe('g.oid', 'pg_trigger')})
    FROM pg_trigger g ${on.replace('%REL%', 'g.tgrelid')} WHERE NOT g.tgisinternal AND ${where}
  UNION ALL
  SELECT ${keyed('pg_class', 'c.oid', 'pg_rewrite', 'r.oid')} 'rule', n.nspname || '.' || c.relname || '.' || r.rulename, jsonb_build_object(
      'definition', pg_get_ruledef(r.oid), 'comment', ${describe('r.oid', 'pg_rewrite')})
    FROM pg_rewrite r ${on.replace('%REL%', 'r.ev_class')} WHERE r.rulename <> '_RETURN' AND ${where}
  UNION ALL
  SELECT ${keyed('pg_class', 'c.oid', 'pg_policy', 'y.oid')} 'policy', n.nspname || '.' || c.relname || '.' || y.polname, jsonb_build_object(
      'command', y.polcmd::text, 'permissive', y.polpermissive,
      'roles', (SELECT jsonb_agg(u.role ORDER BY u.role COLLATE "C") FROM (SELECT CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(r) END FROM unnest(y.polroles) r) u(role)),
      'using', pg_get_expr(y.polqual, y.polrelid), 'withCheck', pg_get_expr(y.polwithcheck, y.polrelid),
      'comment', ${describe('y.oid', 'pg_policy')})
    FROM pg_policy y ${on.replace('%REL%', 'y.polrelid')} WHERE ${where}`;
}

const TYPE_KIND = `CASE t.typtype WHEN 'e' THEN 'enum' WHEN 'd' THEN 'domain' WHEN 'r' THEN 'range type' ELSE 'composite type' END`;

function types(o: CatalogQueryOptions, scope: RowScope): string {
  const labels = `(SELECT jsonb_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid)`;
  const attributes = `(SELECT jsonb_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) ORDER BY a.attnum)
      FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped)`;
  return `SELECT ${keyed('pg_type', 't.oid', 'pg_type', 't.oid')} ${TYPE_KIND}, n.nspname || '.' || t.typname, jsonb_build_object(
      'labels', CASE WHEN t.typtype = 'e' THEN ${labels} END,
      'type', CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END,
      'notNull', CASE WHEN t.typnotnull THEN true END, 'default', t.typdefault,
      'attributes', CASE WHEN t.typtype = 'c' THEN ${attributes} END,
      'subtype', (SELECT format_type(r.rngsubtype, NULL) FROM pg_range r WHERE r.rngtypid = t.oid),
      'acl', ${aclSql('t.typacl', 'T', 't.typowner')}, 'comment', ${describe('t.oid', 'pg_type')}${ownerSql(o, 't.typowner')})
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))
      AND ${userNamespace(o)} AND ${notExtensionMember('pg_type', 't.oid')}${inUnits(scope, 'pg_type', 't.oid')}
  UNION ALL
  SELECT ${keyed('pg_type', 't.oid', 'pg_constraint', 'k.oid')} 'domain constraint', n.nspname || '.' || t.typname || '.' || k.conname, jsonb_build_object(
      'definition', pg_get_constraintdef(k.oid), 'comment', ${describe('k.oid', 'pg_constraint')})
    FROM pg_constraint k JOIN pg_type t ON t.oid = k.contypid JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE k.contype <> 'n' AND ${userNamespace(o)} AND ${notExtensionMember('pg_type', 't.oid')}${inUnits(scope, 'pg_type', 't.oid')}`;
}

function extensions(scope: RowScope): string {
  return `SELECT ${keyed('pg_extension', 'x.oid', 'pg_extension', 'x.oid')} 'extension', x.extname, jsonb_build_object('version', x.extversion, 'schema', n.nspname, 'comment', ${describe('x.oid', 'pg_extension')})
    FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace WHERE true${inUnits(scope, 'pg_extension', 'x.oid')}`;
}

/** Extended statistics (`CREATE STATISTICS`), read as their definition. */
function statistics(o: CatalogQueryOptions, scope: RowScope): string {
  return `SELECT ${keyed('pg_statistic_ext', 'x.oid', 'pg_statistic_ext', 'x.oid')} 'statistics', n.nspname || '.' || x.stxname, jsonb_build_object(
      'definition', pg_get_statisticsobjdef(x.oid), 'comment', ${describe('x.oid', 'pg_statistic_ext')}${ownerSql(o, 'x.stxowner')})
    FROM pg_statistic_ext x JOIN pg_namespace n ON n.oid = x.stxnamespace
    WHERE ${userNamespace(o)} AND x.stxrelid NOT IN (SELECT oid FROM skip)${inUnits(scope, 'pg_statistic_ext', 'x.oid')}`;
}

const DEFAULT_ACL_KIND = `CASE d.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences' WHEN 'f' THEN 'functions' WHEN 'T' THEN 'types' WHEN 'n' THEN 'schemas' END`;

/** `ALTER DEFAULT PRIVILEGES`: the privileges new objects of a role get, by role, schema (or all) and kind of object. */
function defaultPrivileges(o: CatalogQueryOptions, scope: RowScope): string {
  const entries = `SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' WHEN a.grantee = d.defaclrole THEN 'OWNER' ELSE pg_get_userbyid(a.grantee) END
      || ':' || a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END FROM aclexplode(d.defaclacl) a WHERE a.privilege_type <> 'MAINTAIN'`;
  return `SELECT ${keyed('pg_default_acl', 'd.oid', 'pg_default_acl', 'd.oid')} 'default privileges',
      pg_get_userbyid(d.defaclrole) || ' on ' || ${DEFAULT_ACL_KIND} || coalesce(' in ' || n.nspname, ''),
      jsonb_build_object('privileges', (SELECT jsonb_agg(e ORDER BY e COLLATE "C") FROM (${entries}) x(e)))
    FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
    WHERE (n.oid IS NULL OR (${userNamespace(o)}))${inUnits(scope, 'pg_default_acl', 'd.oid')}`;
}

/** The excluded tables and what hangs on them (indexes, owned sequences). */
function skipped(exclude: string[]): string {
  const listed = exclude.length ? exclude.map((t) => `(to_regclass(${pg.escapeLiteral(t)}))`).join(', ') : '(NULL::regclass)';
  return `skip AS (
    SELECT v.oid::oid FROM (VALUES ${listed}) v(oid) WHERE v.oid IS NOT NULL
    UNION SELECT d.objid FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
      AND d.deptype IN ('a', 'i') AND d.refobjid IN (SELECT v.oid FROM (VALUES ${listed}) v(oid) WHERE v.oid IS NOT NULL))`;
}

/** The common table expressions the catalog rows need (`skip`), to open a statement's WITH. */
export function catalogRowsPrelude(options: CatalogQueryOptions = {}): string {
  return skipped(options.exclude ?? []);
}

/**
 * `(uc, uo, oc, oo, kind, name, attrs)` for every object of the schema, or of
 * the listed units; needs the CTEs of catalogRowsPrelude in the statement
 * around it. attrs still carries its nulls.
 */
export function catalogRows(options: CatalogQueryOptions = {}, scope: RowScope = 'all'): string {
  const o = options;
  const parts: [UnitCatalog, (o: CatalogQueryOptions, scope: RowScope) => string][] = [
    ['pg_namespace', schemas], ['pg_class', relations], ['pg_class', columns], ['pg_class', constraints], ['pg_class', indexes],
    ['pg_class', sequences], ['pg_proc', routines], ['pg_class', triggersAndRules], ['pg_type', types], ['pg_extension', (_, s) => extensions(s)],
    ['pg_statistic_ext', statistics], ['pg_default_acl', defaultPrivileges],
  ];
  return parts.filter(([unit]) => scope === 'all' || scope[unit] !== undefined).map(([, part]) => part(o, scope)).join('\nUNION ALL\n');
}

/** One statement: `(kind, name, attrs)` for every object of the schema, nulls stripped from attrs. */
export function fingerprintQuery(options: CatalogQueryOptions = {}): string {
  return `WITH ${catalogRowsPrelude(options)}
SELECT f.kind, f.name, jsonb_strip_nulls(f.attrs) AS attrs FROM (
${catalogRows(options)}
) f(uc, uo, oc, oo, kind, name, attrs)`;
}
