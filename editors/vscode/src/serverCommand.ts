// Finding the server to start: the setting, else `switchboard` on the PATH, else the Python
// extension's interpreter. The look-ups are passed in, so the decision is unit tested.
import * as path from 'node:path';

export interface ServerCommand {
  command: string;
  args: string[];
  /** Where it came from, for the log and the error message. */
  origin: 'setting' | 'path' | 'python';
}

export interface ServerLookup {
  /** The absolute path of an executable: `name` on the PATH, or `name` itself when it is a path. */
  which(name: string): Promise<string | undefined>;
  /** The Python extension's selected interpreter, when that extension is there. */
  pythonInterpreter(): Promise<string | undefined>;
  /** Whether `python` can import the server package. */
  hasServerModule(python: string): Promise<boolean>;
}

export class ServerNotFound extends Error {
  constructor(
    message: string,
    readonly configured: string | undefined,
  ) {
    super(message);
    this.name = 'ServerNotFound';
  }
}

const PYTHON = /^python(\d+(\.\d+)?)?(\.exe)?$|^pythonw?(\.exe)?$/i;

export function isPythonInterpreter(executable: string): boolean {
  return PYTHON.test(path.basename(executable));
}

function serverArgs(executable: string, extra: readonly string[]): string[] {
  const run = isPythonInterpreter(executable) ? ['-m', 'switchboard.server'] : [];
  return [...run, ...extra, 'serve'];
}

export async function resolveServer(
  configuredPath: string,
  extraArgs: readonly string[],
  lookup: ServerLookup,
): Promise<ServerCommand> {
  const configured = configuredPath.trim();
  if (configured) {
    const found = await lookup.which(configured);
    if (!found) {
      throw new ServerNotFound(
        `Switchboard: the server "${configured}" (setting switchboard.server.path) was not found.`,
        configured,
      );
    }
    return { command: found, args: serverArgs(found, extraArgs), origin: 'setting' };
  }
  const onPath = await lookup.which('switchboard');
  if (onPath) {
    return { command: onPath, args: serverArgs(onPath, extraArgs), origin: 'path' };
  }
  const python = await lookup.pythonInterpreter();
  if (python && (await lookup.hasServerModule(python))) {
    return { command: python, args: serverArgs(python, extraArgs), origin: 'python' };
  }
  throw new ServerNotFound(
    'Switchboard: the server was not found: no `switchboard` on the PATH' +
      (python ? `, and the selected Python (${python}) has no switchboard-lsp package.` : '.'),
    undefined,
  );
}
