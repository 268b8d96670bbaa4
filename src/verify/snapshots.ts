/**
 * Fingerprints kept on the server, in temporary tables of a connection of
 * their own: a step compares the schema as it now is with a snapshot in one
 * statement, and only the objects that differ travel to the client.
 */
import type pg from 'pg';
import { fingerprintQuery, type CatalogQueryOptions } from '../schema/catalog-sql.js';
import { byName, pinSearchPath } from '../schema/fingerprint.js';
import { objectChange, type Attributes, type SchemaChange } from '../schema/diff.js';

export type SnapshotName = 'fp_before' | 'fp_after';

/** A difference, with the object as it stood after the first up (for saying which file left it). */
export interface SnapshotDifference {
  change: SchemaChange;
  /** Whether the object existed after the migration's up. */
  afterUp?: boolean;
}

export class Snapshots {
  private readonly query: string;

  constructor(private readonly client: pg.ClientBase, options: CatalogQueryOptions) {
    this.query = fingerprintQuery(options);
  }

  async start(): Promise<void> {
    await pinSearchPath(this.client);
  }

  /** Records the schema as it now is under `name`. */
  async take(name: SnapshotName): Promise<void> {
    await this.client.query(`DROP TABLE IF EXISTS pg_temp.${name}; CREATE TEMP TABLE ${name} AS ${this.query}`);
  }

  /** The snapshot `from` becomes `to` (the state after a migration is the next one's starting point). */
  async rename(from: SnapshotName, to: SnapshotName): Promise<void> {
    await this.client.query(`DROP TABLE IF EXISTS pg_temp.${to}; ALTER TABLE pg_temp.${from} RENAME TO ${to}`);
  }

  /** Objects that differ between snapshot `base` and the schema now; `reference` tells whether each existed there. */
  async differences(base: SnapshotName, reference?: SnapshotName): Promise<SnapshotDifference[]> {
    const join = reference ? `LEFT JOIN pg_temp.${reference} r ON r.kind = coalesce(b.kind, c.kind) AND r.name = coalesce(b.name, c.name)` : '';
    const { rows } = await this.client.query<{ kind: string; name: string; before: Attributes | null; now: Attributes | null; reference: boolean | null }>(
      `WITH cur AS (${this.query})
       SELECT coalesce(b.kind, c.kind) AS kind, coalesce(b.name, c.name) AS name, b.attrs AS before, c.attrs AS now,
              ${reference ? 'r.kind IS NOT NULL' : 'NULL::boolean'} AS reference
         FROM pg_temp.${base} b FULL JOIN cur c ON c.kind = b.kind AND c.name = b.name ${join}
        WHERE b.attrs IS DISTINCT FROM c.attrs`);
    return rows.sort(byName).map((r) => ({
      change: objectChange(r.kind, r.name, r.before ?? undefined, r.now ?? undefined),
      ...(r.reference !== null && { afterUp: r.reference }),
    }));
  }
}
