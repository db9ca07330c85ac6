// The entry point the extension host calls (extensionTestsPath): runs the suite, fails on any failure.
import { runAll } from './harness';
import './suite';

export async function run(): Promise<void> {
  const { failed, passed } = await runAll();
  if (failed > 0 || passed === 0) {
    throw new Error(`${failed} extension-host test(s) failed`);
  }
}
