// Starts one real PostgreSQL for the runner's test files; each file creates its own database in it.
import type { TestProject } from 'vitest/node';
import { startPostgres } from '../support/postgres.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const server = await startPostgres();
  console.log(`[runner] PostgreSQL up on 127.0.0.1:${server.port} in ${Date.now() - started}ms`);
  project.provide('postgresUrl', server.url);
  return () => server.stop();
}
