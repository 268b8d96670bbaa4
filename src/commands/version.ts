import { closeConnection } from '../connection-close.js';
import type { Settings } from '../config.js';
import { connectClient } from '../runner/session.js';
import { TidemarkError } from '../errors.js';
import { readVersionState } from '../state/version.js';
import { stateTables } from '../state/tables.js';

export interface VersionResult {
  version: bigint | null;
  dirty: boolean;
}

/** The recorded version, as golang-migrate's `version` prints it (`task migrate:version`). */
export async function migrateVersion(settings: Settings): Promise<VersionResult> {
  const operation = 'read the migration version';
  const client = await connectClient(settings, operation);
  try {
    const { rows } = await client.query({ text: 'SELECT current_schema()', rowMode: 'array' });
    const schema = settings.migrations.table.schema ?? rows[0][0];
    const state = await readVersionState(client, stateTables(schema, settings.migrations.table.table));
    return { version: state.version, dirty: state.dirty };
  } catch (err) {
    if (err instanceof TidemarkError) throw err;
    throw new TidemarkError('MIGRATION_VERSION_FAILED', 'cannot read the version', { operation, cause: (err as Error).message }, { cause: err });
  } finally {
    await closeConnection(client);
  }
}

export function formatVersion(result: VersionResult): string {
  if (result.version === null) return result.dirty ? 'none (dirty)' : 'none';
  return result.dirty ? `${result.version} (dirty)` : String(result.version);
}
