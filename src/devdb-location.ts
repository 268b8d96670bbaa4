import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Where the embedded development database keeps its files, relative to the project. */
export const DEVDB_DIR = '.tidemark';

export interface DevDbState {
  port: number;
  user: string;
  database: string;
}

export function devDbPaths(cwd: string) {
  const root = path.join(cwd, DEVDB_DIR);
  return {
    root,
    dataDir: path.join(root, 'pg18'),
    stateFile: path.join(root, 'devdb.json'),
    passwordFile: path.join(root, 'password'),
    logFile: path.join(root, 'postgres.log'),
  };
}

export function readDevDbState(cwd: string): DevDbState | undefined {
  try {
    return JSON.parse(readFileSync(devDbPaths(cwd).stateFile, 'utf8')) as DevDbState;
  } catch {
    return undefined;
  }
}

/** The URL of the embedded database, if it has been created; cheap enough for every command. */
export function readEmbeddedUrl(cwd: string): string | undefined {
  const state = readDevDbState(cwd);
  if (!state) return undefined;
  let password: string;
  try {
    password = readFileSync(devDbPaths(cwd).passwordFile, 'utf8').trim();
  } catch {
    return undefined;
  }
  return `postgres://${encodeURIComponent(state.user)}:${encodeURIComponent(password)}@127.0.0.1:${state.port}/${encodeURIComponent(state.database)}?sslmode=disable`;
}
