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

type Slot = 'fp_a' | 'fp_b';

/** The schema at the turns of a check: as it now is, or as a named snapshot recorded it. */
export interface SchemaSnapshots {
  start(): Promise<void>;
  /** Records the schema as it now is under `name`. */
  take(name: SnapshotName): Promise<void>;
  /** The snapshot `from` becomes `to` (the state after a migration is the next one's starting point). */
  rename(from: SnapshotName, to: SnapshotName): Promise<void>;
  /** Objects that differ between snapshot `base` and the schema now; `reference` tells whether each existed there. */
  differences(base: SnapshotName, reference?: SnapshotName): Promise<SnapshotDifference[]>;
  /** Differences the snapshots failed to see, found by reading the schema whole (none for snapshots that always do). */
  missed(): Promise<SnapshotDifference[]>;
}

/**
 * The whole schema read at every turn (where the DDL record cannot be kept).
 * Two temporary tables hold the snapshots; the names before and after move
 * between them. Their statements are prepared once: planning the catalog
 * query costs as much as running it on a small schema, and a plan over the
 * catalogs stays valid however the schema changes.
 */
export class WholeSnapshots implements SchemaSnapshots {
  private readonly slots: Record<SnapshotName, Slot> = { fp_before: 'fp_a', fp_after: 'fp_b' };
  private readonly query: string;

  constructor(private readonly client: pg.ClientBase, options: CatalogQueryOptions) {
    this.query = fingerprintQuery(options);
  }

  async start(): Promise<void> {
    await pinSearchPath(this.client);
    await this.client.query(`CREATE TEMP TABLE fp_a (kind text, name text, attrs jsonb); CREATE TEMP TABLE fp_b (kind text, name text, attrs jsonb)`);
  }

  async take(name: SnapshotName): Promise<void> {
    const slot = this.slots[name];
    // Emptied and vacuumed rather than truncated: a new file for the table would make every prepared plan over it plan again.
    await this.client.query(`DELETE FROM pg_temp.${slot}`);
    await this.client.query(`VACUUM pg_temp.${slot}`);
    await this.client.query({ name: `tidemark_fill_${slot}`, text: `INSERT INTO pg_temp.${slot} ${this.query}` });
  }

  async rename(from: SnapshotName, to: SnapshotName): Promise<void> {
    [this.slots[from], this.slots[to]] = [this.slots[to], this.slots[from]];
  }

  async missed(): Promise<SnapshotDifference[]> {
    return [];
  }

  async differences(base: SnapshotName, reference?: SnapshotName): Promise<SnapshotDifference[]> {
    const [b, r] = [this.slots[base], reference && this.slots[reference]];
    const join = r ? `LEFT JOIN pg_temp.${r} r ON r.kind = coalesce(b.kind, c.kind) AND r.name = coalesce(b.name, c.name)` : '';
    const { rows } = await this.client.query<{ kind: string; name: string; before: Attributes | null; now: Attributes | null; reference: boolean | null }>({
      name: `tidemark_diff_${b}_${r ?? 'alone'}`,
      text: `WITH cur AS (${this.query})
       SELECT coalesce(b.kind, c.kind) AS kind, coalesce(b.name, c.name) AS name, b.attrs AS before, c.attrs AS now,
              ${r ? 'r.kind IS NOT NULL' : 'NULL::boolean'} AS reference
         FROM pg_temp.${b} b FULL JOIN cur c ON c.kind = b.kind AND c.name = b.name ${join}
        WHERE b.attrs IS DISTINCT FROM c.attrs`,
    });
    return rows.sort(byName).map((row) => ({
      change: objectChange(row.kind, row.name, row.before ?? undefined, row.now ?? undefined),
      ...(row.reference !== null && { afterUp: row.reference }),
    }));
  }
}
