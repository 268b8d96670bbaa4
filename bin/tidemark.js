#!/usr/bin/env -S node --
// Dispatches `tidemark <target> [args]` to the compiled script of the same
// Taskfile target: `migrate:status` runs dist/tasks/migrate-status.js.
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const tasksDir = fileURLToPath(new URL('../dist/tasks/', import.meta.url));
const [command, ...rest] = process.argv.slice(2);
const targets = existsSync(tasksDir)
  ? readdirSync(tasksDir).filter((f) => f.endsWith('.js')).map((f) => f.slice(0, -3).replace('-', ':')).sort()
  : [];

if (!command || command === '--help' || command === '-h' || command === 'help') {
  process.stdout.write(`Usage: tidemark <command> [options]\n\nCommands:\n${targets.map((t) => `  ${t}`).join('\n')}\n\nRun tidemark <command> --help for a command's options.\n`);
  process.exitCode = command ? 0 : 2;
} else if (!targets.includes(command)) {
  process.stderr.write(`INVALID_ARGUMENT: unknown command\n  operation: run tidemark ${command}\n  error: "${command}" is not a tidemark command\n  hint: one of ${targets.join(', ')}\n`);
  process.exitCode = 2;
} else {
  process.argv = [process.argv[0], `tidemark ${command}`, ...rest];
  await import(pathToFileURL(`${tasksDir}${command.replace(':', '-')}.js`).href);
}
