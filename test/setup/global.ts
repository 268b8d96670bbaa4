import type { TestProject } from 'vitest/node';
import { embeddedServer, type TestServer } from './servers.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pg18Url: string;
  }
}

let servers: TestServer[] = [];

export async function setup(project: TestProject): Promise<void> {
  if (process.env.TEST_DATABASE_URL) {
    project.provide('pg18Url', process.env.TEST_DATABASE_URL);
    return;
  }
  const pg18 = await embeddedServer();
  servers.push(pg18);
  project.provide('pg18Url', pg18.url);
}

export async function teardown(): Promise<void> {
  await Promise.all(servers.map((s) => s.stop()));
  servers = [];
}
