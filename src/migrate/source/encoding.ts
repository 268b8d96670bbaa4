/**
 * Migration files are UTF-8. The SQL goes to PostgreSQL as UTF-8 text and the
 * server converts it to the database's own encoding, so a UTF-8 file works on
 * every server; a file in another encoding (Latin-1, Windows-1252, UTF-16)
 * would reach the server with its bytes reinterpreted, and decoding it with
 * replacement characters would change the data silently. Such a file is
 * refused when it is read, before anything runs.
 */
import { isUtf8 } from 'node:buffer';
import { TidemarkError } from '../../errors.js';

/** The UTF-8 byte order mark some editors write at the start of a file. */
const BYTE_ORDER_MARK = [0xef, 0xbb, 0xbf];

export function startsWithByteOrderMark(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && BYTE_ORDER_MARK.every((b, i) => bytes[i] === b);
}

/** Length of the well-formed UTF-8 sequence at `i` (Unicode table 3-7), 0 when there is none. */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const b = bytes[i];
  if (b < 0x80) return 1;
  const inRange = (k: number, lo = 0x80, hi = 0xbf) => i + k < bytes.length && bytes[i + k] >= lo && bytes[i + k] <= hi;
  if (b >= 0xc2 && b <= 0xdf) return inRange(1) ? 2 : 0;
  if (b >= 0xe0 && b <= 0xef) {
    const [lo, hi] = b === 0xe0 ? [0xa0, 0xbf] : b === 0xed ? [0x80, 0x9f] : [0x80, 0xbf];
    return inRange(1, lo, hi) && inRange(2) ? 3 : 0;
  }
  if (b >= 0xf0 && b <= 0xf4) {
    const [lo, hi] = b === 0xf0 ? [0x90, 0xbf] : b === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
    return inRange(1, lo, hi) && inRange(2) && inRange(3) ? 4 : 0;
  }
  return 0;
}

/** Byte offset of the first ill-formed UTF-8 sequence, or -1. Slow: for the error path only. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; ) {
    const length = sequenceLength(bytes, i);
    if (!length) return i;
    i += length;
  }
  return -1;
}

function lineAndColumn(bytes: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

function utf16Mark(bytes: Uint8Array): string | undefined {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'UTF-16 little-endian';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'UTF-16 big-endian';
  return undefined;
}

function invalidUtf8Error(bytes: Uint8Array, file: string): TidemarkError {
  const offset = firstInvalidUtf8(bytes);
  const { line, column } = lineAndColumn(bytes, offset);
  const byte = `0x${bytes[offset].toString(16).toUpperCase().padStart(2, '0')}`;
  const utf16 = utf16Mark(bytes);
  const cause = utf16
    ? `the file is ${utf16} (it starts with that byte order mark), not UTF-8`
    : `not valid UTF-8: byte ${byte} at byte offset ${offset} (line ${line}, byte ${column} of the line) begins no UTF-8 character`;
  return new TidemarkError('MIGRATION_SOURCE_FAILED', 'migration file is not UTF-8', {
    operation: `read ${file}`,
    cause,
    hint: 'migration files must be UTF-8 (PostgreSQL converts the text to the database\'s encoding). '
      + `Convert the file, e.g. \`iconv -f ${utf16 ? 'UTF-16' : 'LATIN1'} -t UTF-8 FILE > FILE.utf8\`, then replace it; nothing was run`,
    data: { file, offset, line, column },
  });
}

/**
 * The SQL of a migration file: the bytes checked as UTF-8 (a fast check first;
 * the offending offset is found only on failure) and one leading byte order
 * mark left out, since PostgreSQL would read it as part of the first word.
 */
export function decodeMigrationFile(bytes: Buffer, file: string): { sql: string; byteOrderMark: boolean } {
  if (!isUtf8(bytes)) throw invalidUtf8Error(bytes, file);
  const byteOrderMark = startsWithByteOrderMark(bytes);
  return { sql: bytes.toString('utf8', byteOrderMark ? BYTE_ORDER_MARK.length : 0), byteOrderMark };
}
