// A small test runner for inside the extension host, and the hand-off to the outside runner
// (scripts/run-e2e.js), which looks at the rendered workbench and takes screenshots.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

export interface TestCase {
  name: string;
  run: () => Promise<void>;
}

const tests: TestCase[] = [];

export function test(name: string, run: () => Promise<void>): void {
  tests.push({ name, run });
}

export async function runAll(): Promise<{ passed: number; failed: number }> {
  let passed = 0;
  let failed = 0;
  // SWITCHBOARD_E2E_ONLY=regexp runs the first test (it sets things up) and those whose name matches.
  const only = process.env.SWITCHBOARD_E2E_ONLY;
  const selected = only ? tests.filter((t, index) => index === 0 || new RegExp(only).test(t.name)) : tests;
  for (const { name, run } of selected) {
    const started = Date.now();
    try {
      await run();
      passed += 1;
      console.log(`ok ${passed + failed} - ${name} (${Date.now() - started} ms)`);
    } catch (error) {
      failed += 1;
      const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
      console.log(`not ok ${passed + failed} - ${name}\n${detail}`);
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  return { passed, failed };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 15000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await sleep(50);
  }
}

export interface CheckpointReply {
  ok: boolean;
  problems?: string[];
  [key: string]: unknown;
}

/**
 * Asks the outside runner to check the rendered workbench (and take a screenshot) now, and
 * waits for its verdict. Without the runner (SWITCHBOARD_E2E_SYNC unset) there is nothing to ask.
 */
export async function checkpoint(name: string, expect: Record<string, unknown>): Promise<CheckpointReply> {
  const dir = process.env.SWITCHBOARD_E2E_SYNC;
  if (!dir) {
    throw new Error('SWITCHBOARD_E2E_SYNC is not set: run the tests through scripts/run-e2e.js');
  }
  const reply = path.join(dir, `${name}.reply.json`);
  await fs.writeFile(path.join(dir, `${name}.request.json`), JSON.stringify(expect));
  const text = await waitFor(
    `the runner's check "${name}"`,
    () => fs.readFile(reply, 'utf8').catch(() => undefined),
    30000,
  );
  const parsed = JSON.parse(text) as CheckpointReply;
  if (!parsed.ok) {
    throw new Error(`workbench check "${name}" failed: ${(parsed.problems ?? []).join('; ')}`);
  }
  return parsed;
}
