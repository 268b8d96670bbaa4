import { readdirSync } from 'node:fs';
import path from 'node:path';
import { TidemarkError } from '../errors.js';
import { MAX_VERSION, parseMigrationFileName, type Direction } from './parse.js';
import { fileScript, inlineScript } from './scripts.js';

export { readAhead } from './scripts.js';
import type { InlineMigration, Migration, MigrationScript, MigrationSet } from './types.js';

export type { Migration, MigrationSet, MigrationScript, InlineMigration, LoadedScript } from './types.js';

function sourceError(operation: string, cause: string, hint?: string): TidemarkError {
  return new TidemarkError('MIGRATION_SOURCE_FAILED', 'cannot read migrations', { operation, cause, hint });
}

class MigrationCollector {
  private byVersion = new Map<bigint, Migration>();

  add(version: bigint, name: string, direction: Direction, script: MigrationScript, operation: string): void {
    const existing = this.byVersion.get(version);
    const migration = existing ?? { version, name };
    const clash = migration[direction];
    if (clash) throw sourceError(operation, `two ${direction} files for version ${version}: ${clash.fileName} and ${script.fileName}`, 'keep one file per version and direction');
    migration[direction] = script;
    if (!existing) this.byVersion.set(version, migration);
  }

  sorted(): Migration[] {
    return [...this.byVersion.values()].sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
  }
}

/** Lists the directory (synchronously, like the files themselves: see fileScript). */
export async function readMigrationDir(dir: string): Promise<MigrationSet> {
  const operation = `read migrations directory ${dir}`;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw sourceError(operation, 'the directory does not exist', 'create it with `task migrate:create -- NAME`, or point MIGRATIONS_DIR / --dir at your migrations');
    if (code === 'ENOTDIR') throw sourceError(operation, 'not a directory');
    throw sourceError(operation, (err as Error).message);
  }
  const collector = new MigrationCollector();
  const unmatched: string[] = [];
  const base = path.join(dir, path.sep);
  for (const entry of entries) {
    if (entry.name.startsWith('.') || entry.isDirectory()) continue;
    const parsed = parseMigrationFileName(entry.name);
    if (!parsed.ok) {
      if (parsed.reason === 'out-of-range') throw sourceError(operation, `${entry.name}: version is larger than ${MAX_VERSION} (PostgreSQL's bigint)`);
      unmatched.push(entry.name);
      continue;
    }
    const { version, name, direction } = parsed.value;
    collector.add(version, name, direction, fileScript(base, entry.name, direction), operation);
  }
  unmatched.sort();
  const warnings = unmatched.length
    ? [`ignored ${unmatched.length} file(s) in ${dir} that do not match NNN_name.up.sql / NNN_name.down.sql: ${unmatched.join(', ')}`]
    : [];
  return { migrations: collector.sorted(), warnings, origin: dir };
}

/** Migrations bundled into an application instead of read from a directory. */
export function inlineMigrations(list: InlineMigration[]): MigrationSet {
  const collector = new MigrationCollector();
  const operation = 'read in-memory migrations';
  for (const item of list) {
    const version = BigInt(item.version);
    if (version < 0n || version > MAX_VERSION) throw sourceError(operation, `version ${item.version} is outside 0..${MAX_VERSION}`);
    const base = `${version}_${item.name}`;
    collector.add(version, item.name, 'up', inlineScript(item.up, `${base}.up.sql`, 'up'), operation);
    if (item.down !== undefined) collector.add(version, item.name, 'down', inlineScript(item.down, `${base}.down.sql`, 'down'), operation);
  }
  return { migrations: collector.sorted(), warnings: [], origin: 'in-memory list' };
}
