import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';

export type ArchiveType = 'custom' | 'directory' | 'tar' | 'sql' | 'sql.gz';

/** What a file is, from its first bytes (names lie, magic numbers do not). */
export async function detectArchive(file: string): Promise<ArchiveType | undefined> {
  const info = await stat(file);
  if (info.isDirectory()) {
    const names = await readdir(file);
    return names.includes('toc.dat') ? 'directory' : undefined;
  }
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await handle.read(head, 0, 512, 0);
    const bytes = head.subarray(0, bytesRead);
    if (bytes.subarray(0, 5).toString('latin1') === 'PGDMP') return 'custom';
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) return 'sql.gz';
    if (bytesRead >= 262 && bytes.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
    if (/\.sql$/i.test(file) && bytesRead > 0 && !bytes.includes(0)) return 'sql';
    return undefined;
  } finally {
    await handle.close();
  }
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  // 1 MB reads, 16 times fewer round trips to the thread pool than the default 64 kB: this check runs before every restore.
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Directory-format archives: a hash per file, and one over the sorted list. */
export async function sha256Directory(dir: string): Promise<{ sha256: string; files: Array<{ name: string; size: number; sha256: string }> }> {
  const names = (await readdir(dir)).sort();
  const files = [];
  for (const name of names) {
    const full = path.join(dir, name);
    files.push({ name, size: (await stat(full)).size, sha256: await sha256File(full) });
  }
  const sha256 = createHash('sha256').update(files.map((f) => `${f.name}\0${f.sha256}\n`).join('')).digest('hex');
  return { sha256, files };
}

export async function checksumOfBackup(target: string): Promise<string> {
  return (await stat(target)).isDirectory() ? (await sha256Directory(target)).sha256 : sha256File(target);
}
