import { describe, expect, it } from 'vitest';
import { actionsFor, describeError, notificationText } from '../../src/errors';
import { activeAttachments, chipLabel, withContext, type Attachment } from '../../src/context';
import { isPythonInterpreter, resolveServer, ServerNotFound, type ServerLookup } from '../../src/serverCommand';
import { serverSettings } from '../../src/settings';

describe('describeError', () => {
  it("turns authenticationFailed into a message with one Sign In action, for the provider's own flow", () => {
    const report = describeError({
      code: -32803,
      message: 'anthropic: invalid x-api-key',
      data: { code: 'authenticationFailed', provider: 'anthropic', status: 401 },
    });
    expect(report.message).toBe('anthropic: invalid x-api-key');
    expect(report.actions.map((a) => [a.title, a.command, a.args])).toEqual([
      ['Sign In…', 'switchboard.signIn', ['anthropic']],
    ]);
    expect(report.cancelled).toBe(false);
  });

  it('adds the suggestion and the retry delay', () => {
    const unknown = describeError({
      code: -32803,
      message: 'unknown provider "antropic"',
      data: { code: 'unknownProvider', suggestion: 'anthropic', supported: ['anthropic', 'openai'] },
    });
    expect(unknown.message).toBe('unknown provider "antropic" (did you mean "anthropic"?)');
    expect(unknown.actions[0].command).toBe('switchboard.chooseModel');
    const limited = describeError({ code: -32803, message: 'slow down', data: { code: 'rateLimited', retryAfterMs: 2500 } });
    expect(limited.message).toBe('slow down (try again in 3 s)');
    const noKey = describeError({
      code: -32803,
      message: 'no credential for anthropic',
      data: { code: 'authenticationFailed', suggestion: 'set ANTHROPIC_API_KEY' },
    });
    expect(noKey.message).toBe('no credential for anthropic — set ANTHROPIC_API_KEY');
  });

  it('knows a cancel is not an error, and still describes anything else', () => {
    expect(describeError({ code: -32800, message: 'cancelled' }).cancelled).toBe(true);
    const other = describeError(new Error('boom'));
    expect(other.message).toBe('boom');
    expect(other.actions.map((a) => a.command)).toEqual(['switchboard.showServerLog']);
  });

  it('has an action for every error code', () => {
    for (const code of [
      'authenticationFailed',
      'permissionDenied',
      'rateLimited',
      'invalidRequest',
      'contextLengthExceeded',
      'contentFiltered',
      'unknownModel',
      'unknownProvider',
      'providerUnavailable',
      'timeout',
      'network',
      'unsupported',
    ]) {
      expect(actionsFor({ code }).length).toBeGreaterThan(0);
    }
  });
});

describe('resolveServer', () => {
  function lookup(found: Record<string, string>, python?: string, pythonHasModule = false): ServerLookup {
    return {
      which: async (name) => found[name],
      pythonInterpreter: async () => python,
      hasServerModule: async () => pythonHasModule,
    };
  }

  it('uses the setting, running a Python interpreter with -m switchboard.server', async () => {
    expect(await resolveServer('/opt/sb/bin/switchboard', [], lookup({ '/opt/sb/bin/switchboard': '/opt/sb/bin/switchboard' }))).toEqual({
      command: '/opt/sb/bin/switchboard',
      args: ['serve'],
      origin: 'setting',
    });
    const python = await resolveServer('python3', ['--config', 'c.toml'], lookup({ python3: '/usr/bin/python3' }));
    expect(python.args).toEqual(['-m', 'switchboard.server', '--config', 'c.toml', 'serve']);
  });

  it('says which configured path is missing', async () => {
    await expect(resolveServer('/nowhere/switchboard', [], lookup({}))).rejects.toThrow(
      /"\/nowhere\/switchboard" \(setting switchboard.server.path\) was not found/,
    );
  });

  it('falls back to switchboard on the PATH, then the Python extension interpreter', async () => {
    expect((await resolveServer('', [], lookup({ switchboard: '/usr/local/bin/switchboard' }))).origin).toBe('path');
    const fromPython = await resolveServer('', [], lookup({}, '/home/u/.venv/bin/python', true));
    expect(fromPython).toEqual({
      command: '/home/u/.venv/bin/python',
      args: ['-m', 'switchboard.server', 'serve'],
      origin: 'python',
    });
    const error = await resolveServer('', [], lookup({}, '/usr/bin/python3', false)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerNotFound);
    expect(String((error as Error).message)).toContain('has no switchboard-lsp package');
  });

  it('recognises interpreters by name', () => {
    for (const name of ['python', 'python3', 'python3.11', '/x/python.exe', 'C:\\Py\\pythonw.exe']) {
      expect(isPythonInterpreter(name.replace(/\\/g, '/'))).toBe(true);
    }
    expect(isPythonInterpreter('/usr/bin/switchboard')).toBe(false);
  });
});

describe('serverSettings', () => {
  const reader = (values: Record<string, unknown>) => ({ get: <T>(key: string) => values[key] as T | undefined });

  it('sends only the keys the server knows, and only when set', () => {
    expect(serverSettings(reader({ defaultModel: '', fastModel: '  ', providers: {}, completion: {} }))).toEqual({});
    expect(
      serverSettings(
        reader({
          defaultModel: 'openai/gpt-4o',
          fastModel: 'openai/gpt-4o-mini',
          providers: { openai: { baseUrl: 'http://127.0.0.1:9/v1' } },
          completion: { model: 'mistral/codestral-2508', debounceMs: 0 },
          'server.path': '/x',
          'inlineCompletions.enabled': false,
        }),
      ),
    ).toEqual({
      defaultModel: 'openai/gpt-4o',
      fastModel: 'openai/gpt-4o-mini',
      providers: { openai: { baseUrl: 'http://127.0.0.1:9/v1' } },
      completion: { model: 'mistral/codestral-2508', debounceMs: 0 },
    });
  });
});

describe('notificationText', () => {
  it('keeps web links (a notification draws them) and drops the other markdown marks', () => {
    expect(
      notificationText('**No key** for `anthropic`: set ANTHROPIC_API_KEY _now_ or see [the docs](https://example.com/k).\n\n[log](command:x)'),
    ).toBe('No key for anthropic: set ANTHROPIC_API_KEY now or see [the docs](https://example.com/k). log');
    expect(notificationText('## Rate limited\nsnake_case_name stays')).toBe('Rate limited snake_case_name stays');
  });
});

describe('chat context', () => {
  const selection: Attachment = {
    key: 'file:///w/src/a.ts#3-3',
    label: 'src/a.ts:3',
    kind: 'selection',
    fileName: 'src/a.ts',
    languageId: 'typescript',
    text: 'const s = `a ${b}`;',
    startLine: 3,
    endLine: 3,
  };
  const file: Attachment = { key: 'file:///w/b.py', label: 'b.py', kind: 'file', fileName: 'b.py', languageId: 'python', text: 'x = 1' };

  it('puts the file name and the selection before the question, in a fence longer than any backtick run', () => {
    expect(withContext(' Why? ', [selection])).toBe('From `src/a.ts` (line 3):\n\n```typescript\nconst s = `a ${b}`;\n```\n\nWhy?');
    const fenced = withContext('q', [{ ...selection, text: '```\nx\n```', endLine: 5 }]);
    expect(fenced).toContain('(lines 3-5)');
    expect(fenced).toContain('````typescript\n```\nx\n```\n````');
    expect(withContext('plain', [])).toBe('plain');
  });

  it("names a chip by file and lines; a whole file's by its name", () => {
    expect(chipLabel(selection)).toBe('src/a.ts:3');
    expect(chipLabel({ ...selection, endLine: 9 })).toBe('src/a.ts:3-9');
    expect(chipLabel(file)).toBe('b.py');
  });

  it("attaches the editor's context only while its chip is on, then the #file picks, each once", () => {
    expect(activeAttachments({ editor: selection, editorOn: true, files: [file] })).toEqual([selection, file]);
    expect(activeAttachments({ editor: selection, editorOn: false, files: [file] })).toEqual([file]);
    expect(activeAttachments({ editor: file, editorOn: true, files: [file] })).toEqual([file]);
    expect(activeAttachments({ editor: undefined, editorOn: true, files: [] })).toEqual([]);
  });
});
