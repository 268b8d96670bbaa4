import type { Settings } from '../config.js';
import { TidemarkError } from '../errors.js';
import type { RunReport } from '../runner/run.js';
import { withSession } from '../runner/session.js';
import { loadState } from '../runner/state.js';
import { applyDown } from './down.js';
import { applyUp, type MigrateOptions } from './migrate.js';

/** Up or down to exactly `version`, which must be a migration's version, or 0 for none (`task migrate:goto`). */
export async function migrateGoto(settings: Settings, version: bigint, options: Omit<MigrateOptions, 'steps' | 'target'> = {}): Promise<RunReport> {
  const operation = `go to version ${version}`;
  return withSession(settings, { source: options.source, lock: !options.dryRun, operation, onLockWait: (holder) => options.onEvent?.({ type: 'lock-wait', holder }), signal: options.signal }, async (session) => {
    const exists = session.source.migrations.some((m) => m.version === version);
    if (!exists && version !== 0n) {
      throw new TidemarkError('INVALID_VERSION', 'no such migration', {
        operation,
        cause: `there is no migration with version ${version} in ${session.source.origin}`,
        hint: 'give the version of an existing migration, or 0 for none',
      });
    }
    const target = exists ? version : null;
    const { state } = await loadState(session);
    const current = state.version;
    if (target === null || (current !== null && target < current)) return applyDown(session, { to: target }, options, operation);
    return applyUp(session, { ...options, target }, operation);
  });
}
