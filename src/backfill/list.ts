import type { Settings } from '../config.js';
import { describeCause } from '../errors.js';
import { withClient } from '../db/scoped.js';
import { migrationsSchema } from '../db/schema.js';
import { findLockHolder } from '../migrate/state/lock.js';
import { importBackfill, listBackfillFiles } from './loader.js';
import { backfillLockKey } from './scope.js';
import { backfillTables, backfillTablesExist, lastRuns, type RunRecord } from './store.js';

export interface BackfillListing {
  name: string;
  file: string;
  description?: string;
  scopeKeys?: readonly string[];
  /** Why the module cannot be used, when it cannot. */
  error?: string;
  /** The latest run, whatever its scope; a `running` run whose process died shows as `interrupted`. */
  lastRun: RunRecord | null;
}

export interface BackfillList {
  dir: string;
  backfills: BackfillListing[];
}

async function describeFile(file: { name: string; file: string }): Promise<Omit<BackfillListing, 'lastRun'>> {
  try {
    const backfill = await importBackfill(file.file, file.name);
    return { ...file, description: backfill.description, scopeKeys: backfill.scopeKeys };
  } catch (err) {
    return { ...file, error: describeCause(err) };
  }
}

async function readLastRuns(settings: Settings): Promise<Map<string, RunRecord>> {
  return withClient(settings.database, { operation: 'list backfills' }, async (client) => {
    const schema = await migrationsSchema(client, settings.migrations.table);
    const tables = schema ? backfillTables(schema) : undefined;
    if (!tables || !(await backfillTablesExist(client, tables))) return new Map();
    const runs = await lastRuns(client, tables);
    for (const run of runs) {
      if (run.outcome === 'running' && !(await findLockHolder(client, backfillLockKey(run.backfill, run.scope)))) run.outcome = 'interrupted';
    }
    return new Map(runs.map((r) => [r.backfill, r]));
  });
}

/** Every backfill in the directory with its description and latest run (`task backfill:list`). */
export async function listBackfills(settings: Settings): Promise<BackfillList> {
  const dir = settings.chores.backfillsDir;
  const files = await listBackfillFiles(dir);
  if (!files.length) return { dir, backfills: [] };
  const described = await Promise.all(files.map(describeFile));
  const runs = await readLastRuns(settings);
  return { dir, backfills: described.map((b) => ({ ...b, lastRun: runs.get(b.name) ?? null })) };
}
