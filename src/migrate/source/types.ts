import type { Direction } from './parse.js';

export interface LoadedScript {
  /** The text that is run: the file's UTF-8, without a leading byte order mark. */
  sql: string;
  /** SHA-256 of the file's bytes as they are (a byte order mark included), hex. */
  checksum: string;
  /** The file started with a UTF-8 byte order mark, which is not sent to the server. */
  byteOrderMark: boolean;
}

export interface MigrationScript {
  fileName: string;
  direction: Direction;
  /**
   * Reads (once), checks and hashes the script; a file that is not UTF-8 fails with
   * MIGRATION_SOURCE_FAILED, and so does every later call. Synchronous: migration files are small,
   * and a run that looks at a thousand of them would otherwise wait a thousand promises.
   */
  load(): LoadedScript;
}

export interface Migration {
  version: bigint;
  name: string;
  up?: MigrationScript;
  down?: MigrationScript;
}

/** A sorted, validated list of migrations and what was noticed while reading it. */
export interface MigrationSet {
  migrations: Migration[];
  /** Human-readable notes such as files that do not match the naming pattern. */
  warnings: string[];
  /** Where the migrations came from, for messages. */
  origin: string;
}

/** An in-memory migration, for apps that bundle their migrations into the build. */
export interface InlineMigration {
  version: number | bigint | string;
  name: string;
  up: string;
  down?: string;
}
