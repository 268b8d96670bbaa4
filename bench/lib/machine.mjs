// The machine and the versions a report was produced with.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { ROOT } from './paths.mjs';

function osName() {
  if (existsSync('/etc/os-release')) {
    const pretty = readFileSync('/etc/os-release', 'utf8').match(/^PRETTY_NAME="?([^"\n]*)"?/m)?.[1];
    if (pretty) return `${pretty}, kernel ${os.release()}`;
  }
  return `${os.type()} ${os.release()}`;
}

function git(args) {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

export function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model?.trim() ?? 'unknown',
    cores: cpus.length,
    memory: `${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    os: osName(),
    arch: process.arch,
  };
}

/** The commit the measured code comes from, marked when the tree has changes. */
export function sourceRevision() {
  const commit = git(['rev-parse', '--short', 'HEAD']);
  if (!commit) return 'unknown';
  return git(['status', '--porcelain', '--untracked-files=no', '--', 'src', 'tasks', 'scripts']) ? `${commit} (with uncommitted changes)` : commit;
}
