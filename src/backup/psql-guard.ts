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

const END_OF_COPY = Buffer.from('\\.');

/**
 * Where COPY data that starts at `from` ends: just after its `\.` line, or
 * -1 when not in `buf` (or cut off at its end). Data is scanned for the
 * marker only, never split into lines: most of a dump's bytes are here.
 */
function endOfCopy(buf: Buffer, from: number, atLineStart: boolean): number {
  for (let i = buf.indexOf(END_OF_COPY, from); i !== -1; i = buf.indexOf(END_OF_COPY, i + 1)) {
    if (!(i === from ? atLineStart : buf[i - 1] === 10)) continue;
    if (buf[i + 2] === 10) return i + 3;
    if (buf[i + 2] === 13 && buf[i + 3] === 10) return i + 4;
    if (i + 4 > buf.length) return -1;
  }
  return -1;
}

/** Decides, line by line outside COPY data, what reaches psql. */
class ScriptFilter {
  inCopy = false;
  private beforeSql = true;
  private fileKey: string | undefined;

  keep(bytes: Buffer): boolean {
    const line = bytes.toString('latin1').replace(/\r?\n$/, '');
    const restrict = this.beforeSql && !this.fileKey ? line.match(FILE_RESTRICT) : null;
    if (restrict) {
      this.fileKey = restrict[1];
      return false;
    }
    if (this.fileKey && line.trimEnd() === `\\unrestrict ${this.fileKey}`) return false;
    if (COPY_START.test(line)) this.inCopy = true;
    if (line.trim() && !line.startsWith('--')) this.beforeSql = false;
    return true;
  }
}

/**
 * The script as psql gets it: our `\restrict KEY` first, then the file
 * without its own `\restrict KEY` (pg_dump 13.22+ writes one before the
 * first statement, which a restricted psql would refuse) and the matching
 * `\unrestrict KEY` at the end. COPY data passes untouched (a value may
 * begin with `\r`). Every other backslash line reaches psql, which refuses
 * it, and the restore fails.
 */
export function restrictedScript(source: Readable, key = randomBytes(24).toString('hex')): Readable {
  const filter = new ScriptFilter();
  let pending: Buffer = Buffer.alloc(0);
  let atLineStart = true;
  const transform = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      const out: Buffer[] = [];
      let pos = 0;
      pending = Buffer.alloc(0);
      while (pos < buf.length) {
        if (filter.inCopy) {
          const end = endOfCopy(buf, pos, atLineStart);
          // Not found: pass the data on, holding back what could be the start of a marker cut in two.
          const upTo = end === -1 ? Math.max(pos, buf.length - 3) : end;
          out.push(buf.subarray(pos, upTo));
          if (upTo > pos) atLineStart = buf[upTo - 1] === 10;
          pos = upTo;
          if (end === -1) break;
          filter.inCopy = false;
          continue;
        }
        const nl = buf.indexOf(10, pos);
        if (nl === -1) break;
        const line = buf.subarray(pos, nl + 1);
        if (filter.keep(line)) out.push(line);
        pos = nl + 1;
        atLineStart = true;
      }
      pending = buf.subarray(pos);
      done(null, out.length ? Buffer.concat(out) : undefined);
    },
    flush(done) {
      done(null, pending.length && (filter.inCopy || filter.keep(pending)) ? pending : undefined);
    },
  });
  transform.push(`\\restrict ${key}\n`);
  source.on('error', (err) => transform.destroy(err));
  return source.pipe(transform);
}
