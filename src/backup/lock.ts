import { open, readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { TidemarkError } from '../errors.js';
import { safeFilePart } from './names.js';

interface LockInfo {
  pid: number;
  host: string;
  startedAt: string;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One backup at a time per database and directory: a lock file created
 * exclusively. A lock left by a dead process on this host is taken over.
 */
export async function acquireBackupLock(dir: string, database: string, operation: string): Promise<() => Promise<void>> {
  const file = path.join(dir, `.${safeFilePart(database)}.backup.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx', 0o600);
      await handle.writeFile(JSON.stringify({ pid: process.pid, host: hostname(), startedAt: new Date().toISOString() } satisfies LockInfo));
      await handle.close();
      return () => rm(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = await readFile(file, 'utf8').then((t) => JSON.parse(t) as LockInfo).catch(() => undefined);
      if (holder && holder.host === hostname() && !processAlive(holder.pid)) {
        await rm(file, { force: true });
        continue;
      }
      throw new TidemarkError('BACKUP_LOCKED', 'another backup is running', {
        operation,
        cause: holder
          ? `a backup of ${database} into ${dir} is running: pid ${holder.pid} on ${holder.host}, started ${holder.startedAt}`
          : `${file} exists`,
        hint: `wait for it to finish; if no backup is running, remove ${file}`,
      });
    }
  }
  throw new TidemarkError('BACKUP_LOCKED', 'another backup is running', { operation, cause: `${file} keeps reappearing` });
}
