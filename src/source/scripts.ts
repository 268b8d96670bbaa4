import { hash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Direction } from './parse.js';
import type { LoadedScript, MigrationScript } from './types.js';

export function checksumOf(bytes: Buffer | string): string {
  return hash('sha256', bytes, 'hex');
}

/**
 * A script read from disk at most once, when first needed. The read is
 * synchronous: migration files are small, and for a thousand of them one
 * blocking read each costs a fraction of the open/stat/read/close round trips
 * through the thread pool that an asynchronous read takes. `base` is the
 * directory with its trailing separator, normalised once for all its files.
 * A class rather than closures: one small object per file, for directories of
 * ten thousand.
 */
class FileScript implements MigrationScript {
  private loaded: Promise<LoadedScript> | undefined;

  constructor(private readonly base: string, readonly fileName: string, readonly direction: Direction) {}

  load(): Promise<LoadedScript> {
    return (this.loaded ??= new Promise((resolve) => resolve(this.read())));
  }

  private read(): LoadedScript {
    const bytes = readFileSync(this.base + this.fileName);
    return { sql: bytes.toString('utf8'), checksum: checksumOf(bytes) };
  }
}

export function fileScript(base: string, fileName: string, direction: Direction): MigrationScript {
  return new FileScript(base, fileName, direction);
}

export function inlineScript(sql: string, fileName: string, direction: Direction): MigrationScript {
  const loaded = Promise.resolve({ sql, checksum: checksumOf(Buffer.from(sql, 'utf8')) });
  return { fileName, direction, load: () => loaded };
}
