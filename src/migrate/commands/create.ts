import { mkdir, open, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { TidemarkError } from '../../errors.js';
import { MAX_VERSION, normaliseMigrationName, parseMigrationFileName } from '../source/parse.js';

export interface CreateOptions {
  dir: string;
  /** YYYYMMDDHHMMSS (UTC) instead of the next sequential number. */
  timestamp?: boolean;
  /** For tests and reproducible output. */
  now?: Date;
  /** Digits of a sequential version (default 6). */
  digits?: number;
}

export interface CreateResult {
  version: bigint;
  name: string;
  upPath: string;
  downPath: string;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

export function timestampVersion(now: Date): string {
  return `${now.getUTCFullYear()}${pad(now.getUTCMonth() + 1)}${pad(now.getUTCDate())}${pad(now.getUTCHours())}${pad(now.getUTCMinutes())}${pad(now.getUTCSeconds())}`;
}

async function existingVersions(dir: string): Promise<Map<bigint, string>> {
  const names = await readdir(dir).catch((err) => (err.code === 'ENOENT' ? [] : Promise.reject(err)));
  const versions = new Map<bigint, string>();
  for (const name of names) {
    const parsed = parseMigrationFileName(name);
    if (parsed.ok) versions.set(parsed.value.version, name);
  }
  return versions;
}

function nextSequentialVersion(versions: Map<bigint, string>, digits: number): string {
  const max = [...versions.keys()].reduce((a, b) => (b > a ? b : a), 0n);
  if (max >= MAX_VERSION) throw new Error(`the highest version ${max} leaves no room for another`);
  return String(max + 1n).padStart(digits, '0');
}

async function createExclusive(file: string): Promise<void> {
  const handle = await open(file, 'wx', 0o644);
  await handle.close();
}

/** Creates NNNNNN_name.up.sql and .down.sql, never overwriting a file (`task migrate:create`). */
export async function createMigration(rawName: string, options: CreateOptions): Promise<CreateResult> {
  const operation = `create migration "${rawName}"`;
  const name = normaliseMigrationName(rawName);
  if (!name) {
    throw new TidemarkError('MIGRATION_NAME_INVALID', 'unusable migration name', {
      operation,
      cause: rawName.trim() ? 'the name holds a path separator, a quote, ".." or a control character, or has no letter or digit' : 'the name is empty',
      hint: 'use letters, digits, spaces, - or _, e.g. `task migrate:create -- add_users`',
    });
  }
  try {
    await mkdir(options.dir, { recursive: true });
    const versions = await existingVersions(options.dir);
    const version = options.timestamp ? timestampVersion(options.now ?? new Date()) : nextSequentialVersion(versions, options.digits ?? 6);
    const clash = versions.get(BigInt(version));
    if (clash) throw Object.assign(new Error(`version ${version} is taken by ${clash}`), { code: 'EVERSION' });
    const upPath = path.join(options.dir, `${version}_${name}.up.sql`);
    const downPath = path.join(options.dir, `${version}_${name}.down.sql`);
    await createExclusive(upPath);
    try {
      await createExclusive(downPath);
    } catch (err) {
      await rm(upPath, { force: true });
      throw err;
    }
    return { version: BigInt(version), name, upPath, downPath };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new TidemarkError('MIGRATION_CREATE_FAILED', 'cannot create the migration files', {
      operation,
      cause: code === 'EEXIST' ? `${(err as NodeJS.ErrnoException).path} already exists; nothing was overwritten` : (err as Error).message,
      hint: code === 'EEXIST' || code === 'EVERSION' ? 'pick another name, or wait a second with --timestamp' : undefined,
    }, { cause: err });
  }
}
