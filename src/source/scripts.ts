import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Direction } from './parse.js';
import type { LoadedScript, MigrationScript } from './types.js';

export function checksumOf(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * A script read from disk at most once, when first needed. The read is
 * synchronous: migration files are small, and for a thousand of them one
 * blocking read each costs a fraction of the open/stat/read/close round trips
 * through the thread pool that an asynchronous read takes. The path is joined
 * only then, since most down files are never read.
 */
export function fileScript(dir: string, fileName: string, direction: Direction): MigrationScript {
  let loaded: Promise<LoadedScript> | undefined;
  const read = (): LoadedScript => {
    const bytes = readFileSync(path.join(dir, fileName));
    return { sql: bytes.toString('utf8'), checksum: checksumOf(bytes) };
  };
  return {
    fileName,
    direction,
    load: () => (loaded ??= new Promise((resolve) => resolve(read()))),
  };
}

export function inlineScript(sql: string, fileName: string, direction: Direction): MigrationScript {
  const loaded = Promise.resolve({ sql, checksum: checksumOf(Buffer.from(sql, 'utf8')) });
  return { fileName, direction, load: () => loaded };
}
