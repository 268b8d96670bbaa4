import type { Settings } from '../../config.js';
import { withClient } from '../../db/scoped.js';
import { TidemarkError } from '../../errors.js';
import { readVersionState } from '../state/version.js';
import { noSchemaError } from '../../db/schema.js';
import { resolveStateTables } from '../state/tables.js';

export interface VersionResult {
  version: bigint | null;
  dirty: boolean;
}

/** The recorded version, as golang-migrate's `version` prints it (`task migrate:version`). */
export async function migrateVersion(settings: Settings): Promise<VersionResult> {
  const operation = 'read the migration version';
  return withClient(settings.database, { operation }, async (client) => {
    try {
      const tables = await resolveStateTables(client, settings.migrations.table);
      if (!tables) throw noSchemaError('MIGRATION_VERSION_FAILED', 'the migrations table', operation);
      const state = await readVersionState(client, tables);
      return { version: state.version, dirty: state.dirty };
    } catch (err) {
      if (err instanceof TidemarkError) throw err;
      throw new TidemarkError('MIGRATION_VERSION_FAILED', 'cannot read the version', { operation, cause: (err as Error).message }, { cause: err });
    }
  });
}

export function formatVersion(result: VersionResult): string {
  if (result.version === null) return result.dirty ? 'none (dirty)' : 'none';
  return result.dirty ? `${result.version} (dirty)` : String(result.version);
}
