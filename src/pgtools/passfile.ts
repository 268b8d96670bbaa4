import { lstatSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { processAlive } from '../process-alive.js';

/** A password in a file that libpq reads (PGPASSFILE), for as long as a client program runs. */
export interface Passfile {
  path: string;
  /** Removes the file and its directory; safe to call more than once. */
  remove(): void;
}

const PREFIX = 'tidemark-pg-';
/** `tidemark-pg-<pid>-XXXXXX`: mkdtemp's six characters after the pid of the process that made it. */
const MADE_BY = /^tidemark-pg-(\d+)-[A-Za-z0-9]{6}$/;
/**
 * Passfiles of earlier releases lay loose in the temporary directory, without
 * a pid to tell whether their run is still going: one a day old is left from
 * a killed run (a dump or restore does not run that long with one passfile).
 */
const EARLIER_NAME = /^tidemark-[0-9a-f]{16}\.pgpass$/;
const EARLIER_AGE_MS = 24 * 3_600_000;
/** Marks our signal listeners, to tell them from the command's own. */
const PASSFILE_LISTENER = Symbol('tidemark passfile');

function escapeField(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
}

/**
 * Writes the password into a 0600 file in a directory of its own (0700,
 * named with our pid), removed by `remove()` or, whatever happens, when the
 * process exits: an 'exit' listener is kept for as long as the file exists,
 * and a SIGINT or SIGTERM that the command does not handle itself removes it
 * before the signal ends the process as it would have. Only SIGKILL leaves
 * it behind, for the next run to remove (`removeLeftBehind`).
 */
export function writePassfile(password: string): Passfile {
  const dir = mkdtempSync(path.join(tmpdir(), `${PREFIX}${process.pid}-`));
  const file = path.join(dir, 'libpq.pgpass');
  const onSignal = Object.assign((signal: NodeJS.Signals) => {
    // A command that handles the signal exits through process.exit, which runs the 'exit' listener.
    if (process.listeners(signal).some((listener) => !(PASSFILE_LISTENER in listener))) return;
    remove();
    process.kill(process.pid, signal);
  }, { [PASSFILE_LISTENER]: true });
  const remove = () => {
    process.removeListener('exit', remove);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', remove);
  // First in line, so that the command's own listeners, even `once` ones, are still there to be seen.
  process.prependListener('SIGINT', onSignal);
  process.prependListener('SIGTERM', onSignal);
  try {
    writeFileSync(file, `*:*:*:*:${escapeField(password)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    remove();
    throw err;
  }
  return { path: file, remove };
}

/**
 * Removes passfile directories that a killed run (SIGKILL) left behind: ours
 * (same owner), named with the pid of a process that no longer exists.
 */
export function removeLeftBehind(): void {
  let names: string[];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    if (EARLIER_NAME.test(name)) removeEarlierPassfile(path.join(tmpdir(), name));
    const pid = Number(MADE_BY.exec(name)?.[1]);
    if (!pid || pid === process.pid || processAlive(pid)) continue;
    const dir = path.join(tmpdir(), name);
    try {
      const stats = lstatSync(dir);
      if (stats.isDirectory() && stats.uid === process.getuid?.()) rmSync(dir, { recursive: true, force: true });
    } catch {
      // Gone already, or not ours to remove.
    }
  }
}

function removeEarlierPassfile(file: string): void {
  try {
    const stats = lstatSync(file);
    if (stats.isFile() && stats.uid === process.getuid?.() && Date.now() - stats.mtimeMs > EARLIER_AGE_MS) rmSync(file, { force: true });
  } catch {
    // Gone already, or not ours to remove.
  }
}
