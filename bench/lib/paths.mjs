import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Generated data: git-ignored, recreated by every run. */
export const WORK = path.join(ROOT, 'bench', 'work');
