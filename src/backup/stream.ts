import type { Readable, Writable } from 'node:stream';
import type { Hash } from 'node:crypto';

/**
 * Copies a stream to several writers with backpressure (the slowest sets the
 * pace, so memory stays flat) while hashing it. A writer marked optional may
 * fail (a verifier that stops reading) without stopping the copy.
 */
export function fanOut(source: Readable, hash: Hash, required: Writable, optional?: Writable): Promise<number> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    let optionalAlive = !!optional;
    optional?.on('error', () => {
      optionalAlive = false;
    });
    required.on('error', reject);
    source.on('error', reject);
    source.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      hash.update(chunk);
      const waits: Promise<void>[] = [];
      if (!required.write(chunk)) waits.push(new Promise((r) => required.once('drain', r)));
      if (optionalAlive && !optional!.write(chunk)) waits.push(new Promise((r) => { optional!.once('drain', r); optional!.once('error', r); optional!.once('close', r); }));
      if (waits.length) {
        source.pause();
        Promise.all(waits).then(() => source.resume());
      }
    });
    source.on('end', () => {
      if (optionalAlive) optional!.end();
      required.end(() => resolve(bytes));
    });
  });
}
