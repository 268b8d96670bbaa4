import { lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { TidemarkError } from '../../errors.js';
import { MAX_VERSION, MIGRATION_FILE_PATTERN, canonicalVersion, compareCanonicalVersions, type Direction } from './parse.js';
import { fileScript, inlineScript, SmallFileReader } from './scripts.js';

export { readAhead } from './scripts.js';
import type { InlineMigration, Migration, MigrationScript, MigrationSet } from './types.js';

export type { Migration, MigrationSet, MigrationScript, InlineMigration, LoadedScript } from './types.js';

function sourceError(operation: string, cause: string, hint?: string): TidemarkError {
  return new TidemarkError('MIGRATION_SOURCE_FAILED', 'cannot read migrations', { operation, cause, hint });
}

/** Files grouped by version; versions are keyed by their canonical digits (see canonicalVersion). */
class MigrationCollector {
  private byVersion = new Map<string, Migration>();

  add(key: string, name: string, direction: Direction, script: MigrationScript, operation: string): void {
    let migration = this.byVersion.get(key);
    if (!migration) {
      migration = { version: BigInt(key), name };
      this.byVersion.set(key, migration);
    }
    const clash = migration[direction];
    if (clash) throw sourceError(operation, `two ${direction} files for version ${key}: ${clash.fileName} and ${script.fileName}`, 'keep one file per version and direction');
    migration[direction] = script;
  }

  sorted(): Migration[] {
    return [...this.byVersion.keys()].sort(compareCanonicalVersions).map((key) => this.byVersion.get(key)!);
  }
}

function isDirectory(file: string): boolean {
  try {
    return lstatSync(file).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Lists the directory (synchronously, like the files themselves: see
 * fileScript). Only names are listed; the rare name that is not a migration
 * is checked for being a directory, which is skipped without a warning.
 */
export async function readMigrationDir(dir: string): Promise<MigrationSet> {
  const operation = `read migrations directory ${dir}`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw sourceError(operation, 'the directory does not exist', 'create it with `task migrate:create -- NAME`, or point MIGRATIONS_DIR / --dir at your migrations');
    if (code === 'ENOTDIR') throw sourceError(operation, 'not a directory');
    throw sourceError(operation, (err as Error).message);
  }
  const collector = new MigrationCollector();
  const unmatched: string[] = [];
  const reader = new SmallFileReader();
  const base = path.join(dir, path.sep);
  for (const fileName of names) {
    if (fileName.charCodeAt(0) === 46 /* . */) continue;
    const match = MIGRATION_FILE_PATTERN.exec(fileName);
    if (!match) {
      if (!isDirectory(base + fileName)) unmatched.push(fileName);
      continue;
    }
    const key = canonicalVersion(match[1]);
    if (key === undefined) throw sourceError(operation, `${fileName}: version is larger than ${MAX_VERSION} (PostgreSQL's bigint)`);
    const direction = match[3] as Direction;
    collector.add(key, match[2], direction, fileScript(reader, base, fileName, direction), operation);
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
    const key = version.toString();
    const base = `${key}_${item.name}`;
    collector.add(key, item.name, 'up', inlineScript(item.up, `${base}.up.sql`, 'up'), operation);
    if (item.down !== undefined) collector.add(key, item.name, 'down', inlineScript(item.down, `${base}.down.sql`, 'down'), operation);
  }
  return { migrations: collector.sorted(), warnings: [], origin: 'in-memory list' };
}
