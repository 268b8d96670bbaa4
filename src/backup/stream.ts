import type { Readable, Writable } from 'node:stream';
import type { Hash } from 'node:crypto';
import { stopTools, type RunningTool, type ToolExit } from '../pgtools/run.js';

/**
 * pg_dump writes its archive 4 kB at a time, and a pipe read returns little
 * more. The copy gathers this much before writing, so that the file and the
 * verifier get one vectored write per block instead of one write (and, for
 * the verifier, one wake-up) per pipe read: per byte, far less CPU taken from
 * pg_dump, whose compression sets the pace.
 */
export const BLOCK_BYTES = 256 * 1024;

/** Resolves once the writer drained, or closed or failed (a verifier that stopped reading); no listener is left behind. */
function drained(writer: Writable): Promise<void> {
  return new Promise((resolve) => {
    // A writer already destroyed (its reader died) emits nothing more.
    if (writer.destroyed) return resolve();
    const done = () => {
      writer.off('drain', done).off('error', done).off('close', done);
      resolve();
    };
    writer.on('drain', done).on('error', done).on('close', done);
  });
}

/**
 * Copies a stream to several writers with backpressure (the slowest sets the
 * pace, so memory stays flat) while hashing it. A writer marked optional may
 * fail (a verifier that stops reading) without stopping the copy.
 */
export function fanOut(source: Readable, hash: Hash, required: Writable, optional?: Writable, blockBytes = BLOCK_BYTES): Promise<number> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    let optionalAlive = !!optional;
    let gathered: Buffer[] = [];
    let gatheredBytes = 0;
    optional?.on('error', () => {
      optionalAlive = false;
    });
    required.on('error', reject);
    source.on('error', reject);
    /** Hashes and writes what was gathered; returns the writers to wait for. */
    const flush = (): Promise<void>[] => {
      if (!gatheredBytes) return [];
      const chunks = gathered;
      gathered = [];
      gatheredBytes = 0;
      const waits: Promise<void>[] = [];
      // Corked, the chunks leave as one writev per writer.
      const writers = optionalAlive ? [required, optional!] : [required];
      for (const w of writers) w.cork();
      let requiredOk = true;
      let optionalOk = true;
      for (const chunk of chunks) {
        hash.update(chunk);
        requiredOk = required.write(chunk) && requiredOk;
        if (optionalAlive) optionalOk = optional!.write(chunk) && optionalOk;
      }
      for (const w of writers) w.uncork();
      if (!requiredOk) waits.push(new Promise((r) => required.once('drain', r)));
      if (optionalAlive && !optionalOk) waits.push(drained(optional!));
      return waits;
    };
    source.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      gathered.push(chunk);
      gatheredBytes += chunk.length;
      if (gatheredBytes < blockBytes) return;
      const waits = flush();
      if (waits.length) {
        source.pause();
        Promise.all(waits).then(() => source.resume());
      }
    });
    source.on('end', () => {
      flush();
      if (optionalAlive) optional!.end();
      // 'finish' only once every write reached the file; a failed one (ENOSPC) rejects through 'error' instead.
      required.once('finish', () => resolve(bytes));
      required.end();
    });
  });
}

/** Settles like the work, or rejects as soon as the signal aborts (the work is left to its own cleanup). */
export function untilAborted<T>(work: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return work;
  const stopped = () => new Error(`stopped: ${String(signal.reason)}`);
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(stopped());
  }
  return new Promise((resolve, reject) => {
    const abort = () => reject(stopped());
    signal.addEventListener('abort', abort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}

export type ChildExit = ToolExit;

export interface WatchedChild {
  name: string;
  tool: RunningTool;
  /** Its failing exit status is a verdict the caller reports (the verifier on a bad archive), not a death. */
  exitIsVerdict?: boolean;
}

/**
 * The work, watched: the first child that dies (killed by a signal, or
 * failing when its exit is not a verdict) or an abort of the signal ends it.
 * Either way every child is stopped and waited for, so none is left behind
 * blocked on a pipe that nobody reads.
 */
export async function superviseChildren<T>(children: WatchedChild[], work: Promise<T>, stop: AbortSignal, died: (name: string, exit: ChildExit) => Error): Promise<T> {
  work.catch(() => undefined);
  const death = new Promise<never>((_, reject) => {
    for (const { name, tool, exitIsVerdict } of children) {
      void tool.done.then((exit) => {
        if (exit.signal || exit.startError || (exit.code !== 0 && !exitIsVerdict)) reject(died(name, exit));
      });
    }
  });
  death.catch(() => undefined);
  try {
    return await untilAborted(Promise.race([work, death]), stop);
  } finally {
    await stopTools(children.map((c) => c.tool));
  }
}
