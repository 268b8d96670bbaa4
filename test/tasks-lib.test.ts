import { describe, expect, it } from 'vitest';
import { alignedTable, csvLine, prettySize } from '../tasks/lib/format/table.js';
import { clock, progressBar, progressText } from '../tasks/lib/format/backfill.js';
import { PassThrough } from 'node:stream';
import { command, createOutput, listValues, parse, rawValues, splitOwnFlags } from '../tasks/lib/cli.js';

describe('printing', () => {
  it('aligns a table as psql does, numbers to the right, a multi-line cell on one line', () => {
    expect(alignedTable(['id', 'name'], [['1', 'a'], ['100', null], ['7', 'two\nlines']], [true])).toEqual([
      ' id  | name',
      '-----+------',
      '   1 | a',
      ' 100 |',
      '   7 | two…',
    ]);
  });
  it('quotes CSV fields only when needed', () => {
    expect(csvLine(['a', 'b,c', 'say "hi"', null, 'x\ny', ''])).toBe('a,"b,c","say ""hi""",,"x\ny",');
  });
  it('rounds sizes as pg_size_pretty', () => {
    expect([prettySize(0), prettySize(10_239), prettySize(10_240), prettySize(8_192 * 1024), prettySize(20 * 1024 ** 3)]).toEqual(['0 bytes', '10239 bytes', '10 kB', '8192 kB', '20 GB']);
  });
  it('shows progress with rate and ETA, and a bar', () => {
    expect(progressText({ runRows: 25_000, total: 100_000, elapsedMs: 2_000 })).toBe('25,000/100,000 rows (25%), 12,500 rows/s, ETA 0:06');
    expect(progressText({ runRows: 5, total: null, elapsedMs: 1_000 })).toBe('5 rows, 5 rows/s');
    expect(progressText({ runRows: 0, total: 0, elapsedMs: 10 })).toBe('0/0 rows (100%), 0 rows/s, ETA 0:00');
    expect(progressBar({ runRows: 50, total: 100, elapsedMs: 1 }, 10)).toBe('[#####.....]');
    expect([clock(5), clock(65), clock(3_725)]).toEqual(['0:05', '1:05', '1:02:05']);
  });
});

describe('command lines', () => {
  it('reads flag values exactly as typed', () => {
    const argv = ['--min-version', '16.10', '--scope=a=1', '--scope', 'b=2', '--json', '--', '--scope', 'c=3'];
    expect(rawValues('--min-version', argv)).toEqual(['16.10']);
    expect(rawValues('--scope', argv)).toEqual(['a=1', 'b=2']);
    expect(rawValues('--scope', ['--scope', '--json'])).toEqual(['']);
    expect(listValues('--extension', ['--extension', 'a,b', '--extension', ' c '])).toEqual(['a', 'b', 'c']);
    expect(listValues('--extension', [])).toBeUndefined();
  });
  it('takes everything after a bare -- as arguments, flags included', () => {
    const cli = command('migrate:lint', '[FILE...]', 'Lint.').option('--offline', 'static');
    expect(parse(cli, ['a.sql', '--offline', '--', '--odd.sql', 'b.sql'])).toMatchObject({ args: ['a.sql', '--odd.sql', 'b.sql'], options: { offline: true } });
  });
  it('keeps its own flags and passes the rest on', () => {
    expect(splitOwnFlags(['-X', '--embedded', '--env-file', 'p.env', '-c', 'SELECT 1', '--', '--help'], ['--embedded', '--help'], ['--env-file'])).toEqual({
      own: ['--embedded', '--env-file', 'p.env'], rest: ['-X', '-c', 'SELECT 1', '--help'],
    });
    expect(splitOwnFlags(['--env-file=x.env', '--help'], ['--help'], ['--env-file'])).toEqual({ own: ['--env-file=x.env', '--help'], rest: [] });
  });
});

describe('output', () => {
  const capture = () => {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
    return { stream, text: () => text };
  };
  it('masks the secrets of its own run in every kind of output, and only those', () => {
    const [stdout, stderr, other] = [capture(), capture(), capture()];
    const out = createOutput(stdout.stream, stderr.stream);
    const second = createOutput(other.stream, other.stream);
    out.line('before: s3cr3t-pw');
    out.hide(['s3cr3t-pw', '']);
    out.line('url postgres://u:s3cr3t-pw@h/db');
    out.json({ password: 's3cr3t-pw' });
    out.write('bar s3cr3t-pw');
    out.warn('error s3cr3t-pw');
    second.line('other run: s3cr3t-pw');
    expect(stdout.text()).toContain('before: s3cr3t-pw\n');
    expect(stdout.text().split('\n').slice(1).join('\n')).not.toContain('s3cr3t-pw');
    expect(stdout.text()).toContain('bar ');
    expect(stderr.text()).toMatch(/^error \S+\n$/);
    expect(stderr.text()).not.toContain('s3cr3t-pw');
    // A second output (another run) has met no secret: nothing of the first run's leaks into it as shared state.
    expect(other.text()).toBe('other run: s3cr3t-pw\n');
  });
});
