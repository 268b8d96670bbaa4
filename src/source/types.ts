import type { Direction } from './parse.js';

export interface LoadedScript {
  sql: string;
  /** SHA-256 of the file's bytes, hex. */
  checksum: string;
}

export interface MigrationScript {
  fileName: string;
  direction: Direction;
  /** Reads (once) and hashes the script. */
  load(): Promise<LoadedScript>;
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
