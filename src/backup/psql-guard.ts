/**
 * A plain SQL dump is text that psql runs, and psql's meta-commands (`\!`,
 * `\o |cmd`, `\copy … program`, `\i`, `\setenv`, …) would run programs or
 * read files on this machine. psql 13.22, 14.19, 15.14, 16.10, 17.6 and 18
 * know `\restrict KEY`: after it, psql refuses every meta-command but
 * `\unrestrict KEY`. The restore feeds psql its own `\restrict` with a random
 * key first, so nothing in the file can lift it.
 */
import { randomBytes } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';

/** The first release of each major version that knows `\restrict`. */
const RESTRICT_SINCE: Record<number, number> = { 13: 22, 14: 19, 15: 14, 16: 10, 17: 6 };

export function psqlKnowsRestrict(version: string): boolean {
  const [major, minor = 0] = version.split('.').map(Number);
  if (major >= 18) return true;
  const since = RESTRICT_SINCE[major];
  return since !== undefined && minor >= since;
}

/** pg_dump --create (and pg_dumpall) scripts switch databases with `\connect`; a restore into one database cannot follow them. */
export function connectsElsewhere(head: string): boolean {
  return /^\\(connect|c)(\s|$)/m.test(head);
}

const COPY_START = /^COPY .+ FROM stdin;\s*$/;
const FILE_RESTRICT = /^\\restrict ([A-Za-z0-9]+)\s*$/;

/**
 * The script as psql gets it: our `\restrict KEY` first, then the file
 * without its own `\restrict KEY` (pg_dump 13.22+ writes one before the
 * first statement, which a restricted psql would refuse) and the matching
 * `\unrestrict KEY` at the end. Lines of COPY data pass untouched (a value
 * may begin with `\r`). Every other backslash line reaches psql, which
 * refuses it, and the restore fails.
 */
export function restrictedScript(source: Readable, key = randomBytes(24).toString('hex')): Readable {
  let pending: Buffer = Buffer.alloc(0);
  let inCopy = false;
  let beforeSql = true;
  let fileKey: string | undefined;
  const END_OF_COPY = Buffer.from('\\.');
  const keep = (bytes: Buffer): boolean => {
    if (inCopy) {
      // Data lines stay bytes: only the end marker matters.
      if ((bytes.length === 2 || (bytes.length === 3 && bytes[2] === 13)) && bytes.subarray(0, 2).equals(END_OF_COPY)) inCopy = false;
      return true;
    }
    const line = bytes.toString('latin1');
    const restrict = beforeSql ? line.match(FILE_RESTRICT) : null;
    if (restrict && !fileKey) {
      fileKey = restrict[1];
      return false;
    }
    if (fileKey && line.trimEnd() === `\\unrestrict ${fileKey}`) return false;
    if (COPY_START.test(line)) inCopy = true;
    if (line.trim() && !line.startsWith('--')) beforeSql = false;
    return true;
  };
  const transform = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      const out: Buffer[] = [];
      let start = 0;
      for (let nl = pending.indexOf(10, start); nl !== -1; nl = pending.indexOf(10, start)) {
        const line = pending.subarray(start, nl + 1);
        if (keep(line.subarray(0, line.length - 1))) out.push(line);
        start = nl + 1;
      }
      pending = pending.subarray(start);
      done(null, out.length ? Buffer.concat(out) : undefined);
    },
    flush(done) {
      done(null, pending.length && keep(pending) ? pending : undefined);
    },
  });
  transform.push(`\\restrict ${key}\n`);
  source.on('error', (err) => transform.destroy(err));
  return source.pipe(transform);
}
