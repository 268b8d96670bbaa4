import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { fanOut } from './stream.js';

/** A source that yields `count` chunks of `size` bytes, each filled with its index. */
function source(count: number, size: number): { stream: Readable; bytes: Buffer } {
  const chunks = Array.from({ length: count }, (_, i) => Buffer.alloc(size, i % 251));
  return { stream: Readable.from(chunks, { objectMode: false }), bytes: Buffer.concat(chunks) };
}

/** A writer that keeps what it got; with failAt, its failAt-th write (and every later one) fails with ENOSPC. */
function sink({ failAt, slow }: { failAt?: number; slow?: boolean } = {}): { stream: Writable; received: () => Buffer } {
  const parts: Buffer[] = [];
  let writes = 0;
  const stream = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _enc, done) {
      writes++;
      if (failAt !== undefined && writes >= failAt) return done(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }));
      parts.push(chunk);
      if (slow) setImmediate(done);
      else done();
    },
  });
  return { stream, received: () => Buffer.concat(parts) };
}

describe('fanOut: the copy of pg_dump\'s output to the file, the hash and the verifier', () => {
  it('delivers every byte in order to both writers and the hash', async () => {
    const { stream, bytes } = source(500, 4096);
    const file = sink({ slow: true });
    const verifier = sink();
    const hash = createHash('sha256');
    const copied = await fanOut(stream, hash, file.stream, verifier.stream, 64 * 1024);
    expect(copied).toBe(bytes.length);
    expect(file.received().equals(bytes)).toBe(true);
    expect(verifier.received().equals(bytes)).toBe(true);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('fails when the last write to the file fails, even after the source ended', async () => {
    const { stream } = source(10, 1000);
    // One block only, written at the end: its write is the one that fails.
    const file = sink({ failAt: 1 });
    await expect(fanOut(stream, createHash('sha256'), file.stream, undefined, 1024 * 1024)).rejects.toMatchObject({ code: 'ENOSPC' });
  });

  it('goes on when the verifier stops reading', async () => {
    const { stream, bytes } = source(200, 4096);
    const file = sink();
    const verifier = sink({ failAt: 2 });
    verifier.stream.on('error', () => undefined);
    const copied = await fanOut(stream, createHash('sha256'), file.stream, verifier.stream, 16 * 1024);
    expect(copied).toBe(bytes.length);
    expect(file.received().equals(bytes)).toBe(true);
  });
});
