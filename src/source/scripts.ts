import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Direction } from './parse.js';
import type { LoadedScript, MigrationScript } from './types.js';

export function checksumOf(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A script read from disk at most once, when first needed. */
export function fileScript(filePath: string, fileName: string, direction: Direction): MigrationScript {
  let loaded: Promise<LoadedScript> | undefined;
  return {
    fileName,
    direction,
    load: () => (loaded ??= readFile(filePath).then((bytes) => ({ sql: bytes.toString('utf8'), checksum: checksumOf(bytes) }))),
  };
}

export function inlineScript(sql: string, fileName: string, direction: Direction): MigrationScript {
  const loaded = Promise.resolve({ sql, checksum: checksumOf(Buffer.from(sql, 'utf8')) });
  return { fileName, direction, load: () => loaded };
}
