import { hash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { TidemarkError } from '../../errors.js';
import { decodeMigrationFile } from './encoding.js';
import type { Direction } from './parse.js';
import type { LoadedScript, MigrationScript } from './types.js';

export function checksumOf(bytes: Buffer | string): string {
  return hash('sha256', bytes, 'hex');
}

/**
 * Migration files are small: a directory's files are read into one buffer
 * (open, read, close), where readFileSync would also stat each and allocate a
 * buffer of its own; with thousands of files that is a fifth less time and
 * far less for the garbage collector. A file that fills the buffer is read
 * again whole. One reader per directory listing, owned by its scripts.
 */
export class SmallFileReader {
  private readonly buffer = Buffer.allocUnsafeSlow(64 * 1024);

  /** The bytes, valid until the next read: the caller copies what it keeps. */
  read(file: string): Buffer {
    const fd = openSync(file, 'r');
    let length: number;
    try {
      length = readSync(fd, this.buffer, 0, this.buffer.length, 0);
    } finally {
      closeSync(fd);
    }
    return length < this.buffer.length ? this.buffer.subarray(0, length) : readFileSync(file);
  }
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
  private loaded: LoadedScript | undefined;
  private failure: TidemarkError | undefined;

  constructor(private readonly reader: SmallFileReader, private readonly base: string, readonly fileName: string, readonly direction: Direction) {}

  load(): LoadedScript {
    if (this.loaded) return this.loaded;
    if (this.failure) throw this.failure;
    try {
      return (this.loaded = this.read());
    } catch (err) {
      throw (this.failure = err as TidemarkError);
    }
  }

  private read(): LoadedScript {
    let bytes: Buffer;
    try {
      // The shared buffer is only looked at here: the text and the hash are copies.
      bytes = this.reader.read(this.base + this.fileName);
    } catch (err) {
      throw new TidemarkError('MIGRATION_SOURCE_FAILED', 'cannot read migrations', {
        operation: `read ${this.base}${this.fileName}`,
        cause: (err as Error).message,
      }, { cause: err });
    }
    const { sql, byteOrderMark } = decodeMigrationFile(bytes, this.base + this.fileName);
    // The checksum is over the bytes as they are, byte order mark and all. One literal, not a spread:
    // V8 gave each spread copy a hidden class of its own (a thousand files, a thousand classes, every
    // read of .sql or .checksum a megamorphic one).
    return { sql, byteOrderMark, checksum: checksumOf(bytes) };
  }
}

export function fileScript(reader: SmallFileReader, base: string, fileName: string, direction: Direction): MigrationScript {
  return new FileScript(reader, base, fileName, direction);
}

export function inlineScript(sql: string, fileName: string, direction: Direction): MigrationScript {
  const byteOrderMark = sql.charCodeAt(0) === 0xfeff;
  const text = byteOrderMark ? sql.slice(1) : sql;
  const loaded: LoadedScript = { sql: text, checksum: checksumOf(Buffer.from(sql, 'utf8')), byteOrderMark };
  return { fileName, direction, load: () => loaded };
}

/** Files read per slice of read-ahead: about half a millisecond of work for small files. */
const READ_AHEAD_SLICE = 64;

/**
 * Loads the scripts a slice at a time, yielding to the event loop between
 * slices, so that network round trips in flight (a connection being set up,
 * a query) progress meanwhile: reading and waiting overlap instead of adding
 * up. A failing read is left in the script for whoever loads it next; the
 * read-ahead itself never fails. Stops early once `stopped()` says so.
 */
export async function readAhead(scripts: MigrationScript[], stopped: () => boolean): Promise<void> {
  for (let i = 0; i < scripts.length && !stopped(); i += READ_AHEAD_SLICE) {
    for (const script of scripts.slice(i, i + READ_AHEAD_SLICE)) {
      try {
        script.load();
      } catch {
        // Kept by the script, thrown again to whoever loads it.
      }
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
}
