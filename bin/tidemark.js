#!/usr/bin/env -S node --
// Dispatches `tidemark <target> [args]` to the compiled script of the same
// Taskfile target: `migrate:status` runs dist/tasks/migrate-status.js.
// commands.json is the one list of targets with their descriptions: this
// help, the Taskfile's `desc:` lines (a test holds them equal) and the hints
// of every command read it.
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const commands = JSON.parse(readFileSync(new URL('./commands.json', import.meta.url), 'utf8'));
const renamed = Object.fromEntries(Object.entries(commands).filter(([, c]) => c.was).map(([name, c]) => [c.was, name]));
const tasksDir = fileURLToPath(new URL('../dist/tasks/', import.meta.url));
const [typed, ...rest] = process.argv.slice(2);
const command = renamed[typed] ?? typed;

function help() {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.desc}${c.was ? ` (was: ${c.was})` : ''}`);
  return `Usage: tidemark <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun tidemark <command> --help for a command's options.\n`;
}

if (!typed || typed === '--help' || typed === '-h' || typed === 'help') {
  process.stdout.write(help());
  process.exitCode = typed ? 0 : 2;
} else if (!Object.hasOwn(commands, command)) {
  process.stderr.write(`INVALID_ARGUMENT: unknown command\n  operation: run tidemark ${typed}\n  error: "${typed}" is not a tidemark command\n  hint: one of ${Object.keys(commands).join(', ')}; tidemark --help says what each does\n`);
  process.exitCode = 2;
} else {
  // Run this way, hints name targets as `tidemark <target>`, whatever started this process.
  delete process.env.TIDEMARK_TASK;
  delete process.env.TIDEMARK_CONFIRM;
  process.argv = [process.argv[0], `tidemark ${command}`, ...rest];
  await import(pathToFileURL(`${tasksDir}${command.replace(':', '-')}.js`).href);
}
