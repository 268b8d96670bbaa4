/**
 * Whether ALTER COLUMN ... TYPE rewrites the table: PostgreSQL skips the
 * rewrite when the old values are valid as they are in the new type (a
 * binary-coercible cast, or the same type with a looser modifier such as a
 * longer varchar). Pure: the caller brings the catalog's answers.
 */
import type { Claim } from './types.js';

export interface ColumnType {
  oid: number;
  /** The type name's last part (`varchar`, `numeric`), to read modifiers by. */
  name: string;
  /** atttypmod: -1 when none. */
  typmod: number;
}

const LENGTH_PLUS_HEADER = new Set(['varchar', 'bpchar']);
const PLAIN_LENGTH = new Set(['varbit', 'bit', 'timestamp', 'timestamptz', 'time', 'timetz', 'interval']);
/** Types whose modifier may grow (or go) without a rewrite. */
const LOOSENS_IN_PLACE = new Set(['varchar', 'varbit', 'timestamp', 'timestamptz', 'time', 'timetz', 'interval']);

/** atttypmod for a type name and its written modifiers: varchar(20) → 24, numeric(10,2) → 655366. */
export function typmodOf(name: string, modifiers: number[] | undefined): number {
  if (!modifiers?.length) return -1;
  if (LENGTH_PLUS_HEADER.has(name)) return modifiers[0] + 4;
  if (name === 'numeric') return ((modifiers[0] << 16) | (modifiers[1] ?? 0)) + 4;
  if (PLAIN_LENGTH.has(name)) return modifiers[0];
  return -1;
}

function sameTypeRewrites(type: string, from: number, to: number): Claim {
  if (from === to || to === -1 && (LOOSENS_IN_PLACE.has(type) || type === 'numeric')) return 'no';
  if (LOOSENS_IN_PLACE.has(type)) return from !== -1 && to >= from ? 'no' : 'yes';
  if (type === 'numeric' && from !== -1) {
    const [precision, scale] = [(from - 4) >> 16, (from - 4) & 0xffff];
    const [newPrecision, newScale] = [(to - 4) >> 16, (to - 4) & 0xffff];
    return scale === newScale && newPrecision >= precision ? 'no' : 'yes';
  }
  return 'yes';
}

/** With the catalog: the column's type now, the new type, and pg_cast's method between them. */
export function typeChangeRewrites(from: ColumnType, to: ColumnType, castMethod: string | undefined): Claim {
  if (from.oid === to.oid) return sameTypeRewrites(to.name, from.typmod, to.typmod);
  // timestamp → timestamptz keeps the bytes only when the session's TimeZone is UTC (PostgreSQL 12 on).
  if (from.name === 'timestamp' && to.name === 'timestamptz') return 'maybe';
  return castMethod === 'b' && to.typmod === -1 ? 'no' : 'yes';
}

/** Targets that can take some old types without a rewrite; to any other, a change always rewrites. */
const MAY_BE_BINARY = new Set(['text', 'varchar', 'numeric', 'varbit', 'inet', 'citext', 'timestamptz', 'timestamp', 'interval', 'time', 'timetz']);

/** Without the catalog, only the new type is known. */
export function staticTypeChangeRewrites(to: string): Claim {
  return MAY_BE_BINARY.has(to) ? 'maybe' : 'yes';
}
