/**
 * Snapshots kept up to date from the scratch database's DDL record: the
 * catalog is read whole once, then after each step only the units (see
 * RowScope in src/schema/catalog-sql.ts) of the objects the step created,
 * altered or dropped, with what depends on them where a change can alter how
 * they print (a view over a renamed column). The rows live in a SchemaModel;
 * a check costs what its migration changed, not the size of the schema.
 */
import type pg from 'pg';
import { catalogRows, catalogRowsPrelude, type CatalogQueryOptions, type RowScope, type UnitCatalog } from '../schema/catalog-sql.js';
import { pinSearchPath } from '../schema/fingerprint.js';
import type { Attributes } from '../schema/diff.js';
import { DDL_LOG_SCHEMA, READ_WHOLE_AFTER, WIDENING } from './ddl-log.js';
import { SchemaModel, type CatalogRow } from './schema-model.js';
import type { SchemaSnapshots, SnapshotDifference, SnapshotName } from './snapshots.js';

const UNIT_CATALOGS: UnitCatalog[] = ['pg_namespace', 'pg_class', 'pg_proc', 'pg_type', 'pg_extension', 'pg_statistic_ext', 'pg_default_acl'];

/** Classes whose objects are units of their own. */
const SELF_UNITS = `('pg_proc'::regclass, 'pg_type'::regclass, 'pg_namespace'::regclass, 'pg_extension'::regclass, 'pg_statistic_ext'::regclass, 'pg_default_acl'::regclass)`;

const key = (classid: string, oid: string) => `${classid}::text || ':' || ${oid}::text`;

/**
 * Empties the record and names the units to read again: those of the
 * objects still there, and, apart, the objects dropped (the model knows
 * their units).
 */
const CHANGES = `
WITH RECURSIVE log AS (DELETE FROM ${DDL_LOG_SCHEMA}.ddl_log RETURNING classid, objid, whole, dropped, tag),
seeds AS (SELECT DISTINCT l.classid, l.objid FROM log l WHERE NOT l.dropped AND l.classid IS NOT NULL),
widened(classid, objid) AS (
  SELECT DISTINCT l.classid, l.objid FROM log l WHERE NOT l.dropped AND l.classid IS NOT NULL AND (${WIDENING})
  UNION
  SELECT d.classid, d.objid FROM pg_depend d JOIN widened w ON d.refclassid = w.classid AND d.refobjid = w.objid),
touched AS (SELECT classid, objid FROM seeds UNION SELECT classid, objid FROM widened),
units(uc, uo) AS (
  SELECT 'pg_class'::regclass::oid, coalesce(x.indrelid, c.oid) FROM touched t JOIN pg_class c ON t.classid = 'pg_class'::regclass AND c.oid = t.objid
    LEFT JOIN pg_index x ON x.indexrelid = c.oid WHERE c.relkind <> 'c'
  UNION SELECT 'pg_type'::regclass::oid, c.reltype FROM touched t JOIN pg_class c ON t.classid = 'pg_class'::regclass AND c.oid = t.objid WHERE c.relkind = 'c'
  UNION SELECT CASE WHEN k.conrelid <> 0 THEN 'pg_class'::regclass::oid ELSE 'pg_type'::regclass::oid END, CASE WHEN k.conrelid <> 0 THEN k.conrelid ELSE k.contypid END
    FROM touched t JOIN pg_constraint k ON t.classid = 'pg_constraint'::regclass AND k.oid = t.objid
  UNION SELECT 'pg_class'::regclass::oid, g.tgrelid FROM touched t JOIN pg_trigger g ON t.classid = 'pg_trigger'::regclass AND g.oid = t.objid
  UNION SELECT 'pg_class'::regclass::oid, r.ev_class FROM touched t JOIN pg_rewrite r ON t.classid = 'pg_rewrite'::regclass AND r.oid = t.objid
  UNION SELECT 'pg_class'::regclass::oid, y.polrelid FROM touched t JOIN pg_policy y ON t.classid = 'pg_policy'::regclass AND y.oid = t.objid
  UNION SELECT 'pg_class'::regclass::oid, a.adrelid FROM touched t JOIN pg_attrdef a ON t.classid = 'pg_attrdef'::regclass AND a.oid = t.objid
  UNION SELECT t.classid, t.objid FROM touched t WHERE t.classid IN ${SELF_UNITS})
SELECT (SELECT count(*) FROM log)::int AS logged,
  EXISTS (SELECT 1 FROM log l WHERE ${READ_WHOLE_AFTER}) AS whole,
  (SELECT md5(string_agg(oid::text || ':' || rolname, ',' ORDER BY oid)) FROM pg_roles) AS roles,
  (SELECT array_agg(${key('uc', 'uo')}) FROM units) AS units,
  (SELECT array_agg(DISTINCT ${key('classid', 'objid')}) FROM log WHERE dropped) AS dropped,
  (SELECT array_agg(DISTINCT ${key('classid', 'objid')}) FROM log WHERE dropped AND whole) AS gone`;

interface Changes {
  logged: number;
  whole: boolean;
  /** Role names print in privileges: a role renamed or dropped (no event trigger sees it) means a whole reading. */
  roles: string;
  units: string[] | null;
  /** Objects dropped, and those of them dropped whole (not a column of a table). */
  dropped: string[] | null;
  gone: string[] | null;
}

export class TrackedSnapshots implements SchemaSnapshots {
  private readonly model = new SchemaModel();
  private readonly steps: Partial<Record<SnapshotName, number>> = {};
  private readonly options: CatalogQueryOptions;
  private classOids: Record<UnitCatalog, string> | undefined;
  private roles = '';
  /** Statement texts by name, made once (the server plans each once too). */
  private readonly statements = new Map<string, string>();

  constructor(private readonly client: pg.ClientBase, options: CatalogQueryOptions) {
    this.options = { ...options, excludeSchemas: [...(options.excludeSchemas ?? []), DDL_LOG_SCHEMA] };
  }

  async start(): Promise<void> {
    await pinSearchPath(this.client);
    // Planned once: the plan of a read by oid stays right whatever the oids, and planning costs more than running it.
    await this.client.query(`SET plan_cache_mode = force_generic_plan`);
    const { rows } = await this.client.query<Record<UnitCatalog, string>>(`SELECT ${UNIT_CATALOGS.map((c) => `'${c}'::regclass::oid::text AS ${c}`).join(', ')}`);
    this.classOids = rows[0];
    await this.readWhole();
  }

  /** The statement that reads the rows of the units of some catalogs, one oid[] parameter for each, in UNIT_CATALOGS order. */
  private rowsQuery(catalogs: UnitCatalog[] | 'all'): { name: string; text: string } {
    const name = `tidemark_fp_${catalogs === 'all' ? 'all' : catalogs.join('_')}`;
    let text = this.statements.get(name);
    if (text === undefined) {
      const scope: RowScope = catalogs === 'all' ? 'all' : Object.fromEntries(catalogs.map((c, i) => [c, `$${i + 1}::oid[]`]));
      text = `WITH ${catalogRowsPrelude(this.options)}
SELECT ${key('f.uc', 'f.uo')} AS unit, ${key('f.oc', 'f.oo')} AS object, f.kind, f.name, jsonb_strip_nulls(f.attrs) AS attrs
  FROM (${catalogRows(this.options, scope)}) f(uc, uo, oc, oo, kind, name, attrs)`;
      this.statements.set(name, text);
    }
    return { name, text };
  }

  private async readRows(catalogs: UnitCatalog[] | 'all', values: string[][] = []): Promise<CatalogRow[]> {
    const { rows } = await this.client.query<CatalogRow & { attrs: Attributes }>({ ...this.rowsQuery(catalogs), values });
    return rows;
  }

  private async readWhole(): Promise<void> {
    const { rows } = await this.client.query<{ roles: string }>(`SELECT md5(string_agg(oid::text || ':' || rolname, ',' ORDER BY oid)) AS roles FROM pg_roles`);
    this.roles = rows[0].roles;
    this.model.replaceAll(await this.readRows('all'));
  }

  /** Reads again the units of the given keys (`classid:oid`), grouped by catalog; those in `gone` were dropped whole and have no rows left. */
  private async readUnits(units: Set<string>, gone: Set<string>): Promise<void> {
    const byCatalog = new Map<UnitCatalog, string[]>();
    for (const unit of units) {
      if (gone.has(unit)) continue;
      const [classid, oid] = unit.split(':');
      const catalog = UNIT_CATALOGS.find((c) => this.classOids![c] === classid);
      if (catalog) byCatalog.set(catalog, [...(byCatalog.get(catalog) ?? []), oid]);
    }
    const catalogs = UNIT_CATALOGS.filter((c) => byCatalog.has(c));
    const fresh = catalogs.length ? await this.readRows(catalogs, catalogs.map((c) => byCatalog.get(c)!)) : [];
    this.model.replaceUnits(units, fresh);
  }

  /** Brings the rows up to the schema as it now is (one round trip when no DDL ran since). */
  private async sync(): Promise<void> {
    const { rows } = await this.client.query<Changes>({ name: 'tidemark_fp_changes', text: CHANGES });
    const changes = rows[0];
    if (changes.whole || changes.roles !== this.roles) return this.readWhole();
    if (!changes.logged) return;
    await this.readUnits(new Set([...(changes.units ?? []), ...this.model.unitsOf(changes.dropped ?? [])]), new Set(changes.gone ?? []));
  }

  async take(name: SnapshotName): Promise<void> {
    await this.sync();
    this.steps[name] = this.model.step;
    this.forget();
  }

  async rename(from: SnapshotName, to: SnapshotName): Promise<void> {
    this.steps[to] = this.steps[from];
    delete this.steps[from];
    this.forget();
  }

  /** The journal no snapshot needs any more. */
  private forget(): void {
    const held = Object.values(this.steps);
    if (held.length) this.model.forgetBefore(Math.min(...held));
  }

  /**
   * What a whole reading finds that the tracked rows missed (nothing, unless
   * some change escaped the record): read once at the end of a run, so that a
   * miss is reported instead of trusted.
   */
  async missed(): Promise<SnapshotDifference[]> {
    await this.sync();
    const tracked = this.model.step;
    this.model.replaceAll(await this.readRows('all'));
    return this.model.differences(tracked).map((d) => ({ change: d.change }));
  }

  async differences(base: SnapshotName, reference?: SnapshotName): Promise<SnapshotDifference[]> {
    await this.sync();
    const found = this.model.differences(this.steps[base]!, reference && this.steps[reference]);
    return found.map((d) => ({ change: d.change, ...(d.atReference !== undefined && { afterUp: d.atReference }) }));
  }
}
