// Runs one command and measures its wall time and peak memory. Peak memory is
// the peak resident set of the process tree: GNU time's %M (the largest
// process's peak, read by wait4) when /usr/bin/time exists, else the sum of
// VmRSS over the tree, sampled from /proc.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { WORK } from './paths.mjs';

const GNU_TIME = '/usr/bin/time';

function hasGnuTime() {
  if (!existsSync(GNU_TIME)) return false;
  try {
    execFileSync(GNU_TIME, ['-f', '%M', 'true'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

export const memoryMethod = hasGnuTime() ? 'gnu-time' : existsSync('/proc/self/status') ? 'proc' : 'none';

export function describeMemoryMethod() {
  if (memoryMethod === 'gnu-time') return 'peak RSS from GNU time (`/usr/bin/time -f %M`: the largest process in the tree)';
  if (memoryMethod === 'proc') return 'peak of the summed VmRSS of the process tree, sampled every 5 ms from /proc';
  return 'not measured (neither /usr/bin/time nor /proc available)';
}

function childrenOf(pid) {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
  } catch {
    return [];
  }
}

function rssKb(pid) {
  try {
    const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+)/m);
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

function treeRssKb(root) {
  let total = 0;
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop();
    total += rssKb(pid);
    stack.push(...childrenOf(pid));
  }
  return total;
}

let sequence = 0;

/**
 * Spawns `command args` and resolves with { wallMs, peakKb, code, stdout, stderr }.
 * Wall time runs from spawn to exit, as seen by this process.
 */
export function measure(command, args, { env, cwd, input } = {}) {
  const timeFile = path.join(WORK, `time-${process.pid}-${sequence++}.txt`);
  const [file, argv] = memoryMethod === 'gnu-time' ? [GNU_TIME, ['-f', '%M', '-o', timeFile, command, ...args]] : [command, args];
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(file, argv, { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let peakKb = 0;
    const sampler = memoryMethod === 'proc' ? setInterval(() => (peakKb = Math.max(peakKb, treeRssKb(child.pid))), 5) : undefined;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      if (sampler) clearInterval(sampler);
      if (memoryMethod === 'gnu-time') {
        try {
          peakKb = Number(readFileSync(timeFile, 'utf8').trim().split('\n').at(-1));
        } catch {
          peakKb = NaN;
        }
        rmSync(timeFile, { force: true });
      }
      resolve({ wallMs, peakKb: memoryMethod === 'none' ? NaN : peakKb, code, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}
