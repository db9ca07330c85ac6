// The ghost-text provider's logic: the server's items as VS Code's (text and range), when it asks
// the server, cancellation, the spinner's count; and what the status bar item says.
import { describe, expect, it, vi } from 'vitest';

// The few vscode value classes the provider builds, as plain data (no VS Code runs here).
vi.mock('vscode', () => {
  class Position {
    constructor(
      readonly line: number,
      readonly character: number,
    ) {}
  }
  class Range {
    constructor(
      readonly start: Position,
      readonly end: Position,
    ) {}
  }
  class SnippetString {
    constructor(readonly value: string) {}
  }
  class InlineCompletionItem {
    filterText?: string;
    constructor(
      readonly insertText: string | SnippetString,
      readonly range?: Range,
      readonly command?: unknown,
    ) {}
  }
  return { Position, Range, SnippetString, InlineCompletionItem, InlineCompletionTriggerKind: { Invoke: 0, Automatic: 1 } };
});

import * as vscode from 'vscode';
import { InlineCompletionProvider, shouldAsk, toInlineItems, type InlineSource, type WireInlineResult } from '../../src/inlineCompletion';
import { inlineStatusView, toggleTarget } from '../../src/inlineStatus';

const at = new vscode.Position(1, 4);
const document = { uri: { toString: () => 'file:///w/sample.py' } } as unknown as vscode.TextDocument;
const invoked = { triggerKind: vscode.InlineCompletionTriggerKind.Invoke, selectedCompletionInfo: undefined };
const typed = { triggerKind: vscode.InlineCompletionTriggerKind.Automatic, selectedCompletionInfo: undefined };

function token(cancelled = false): vscode.CancellationToken & { cancel(): void } {
  const state = { isCancellationRequested: cancelled };
  return {
    get isCancellationRequested() {
      return state.isCancellationRequested;
    },
    onCancellationRequested: () => ({ dispose: () => undefined }),
    cancel: () => {
      state.isCancellationRequested = true;
    },
  };
}

/** A server stand-in that answers each request when told to, and records what it was asked. */
class Answers implements InlineSource {
  readonly asked: Array<{ position: vscode.Position; kind: vscode.InlineCompletionTriggerKind; token: vscode.CancellationToken }> = [];
  private pending: Array<(result: WireInlineResult | undefined) => void> = [];
  private failures: Array<(error: Error) => void> = [];

  inlineCompletion(
    _document: vscode.TextDocument,
    position: vscode.Position,
    context: vscode.InlineCompletionContext,
    cancel: vscode.CancellationToken,
  ): Promise<WireInlineResult | undefined> {
    this.asked.push({ position, kind: context.triggerKind, token: cancel });
    return new Promise((resolve, reject) => {
      this.pending.push(resolve);
      this.failures.push(reject);
    });
  }

  answer(result: WireInlineResult | undefined): void {
    this.failures.shift();
    this.pending.shift()?.(result);
  }

  fail(error: Error): void {
    this.pending.shift();
    this.failures.shift()?.(error);
  }
}

const suggestion = (text: string) => ({
  items: [{ insertText: text, range: { start: { line: 1, character: 4 }, end: { line: 1, character: 4 } } }],
});

describe('toInlineItems', () => {
  it("turns the server's items into VS Code's, with their ranges", () => {
    const items = toInlineItems(
      {
        items: [
          { insertText: 'return a + b', range: { start: { line: 1, character: 4 }, end: { line: 1, character: 4 } } },
          {
            insertText: 'foo(a)',
            range: { start: { line: 1, character: 2 }, end: { line: 1, character: 6 } },
            filterText: 'fo',
            command: { title: 'Log', command: 'x.log', arguments: [1] },
          },
        ],
      },
      at,
    );
    expect(items).toHaveLength(2);
    expect(items[0].insertText).toBe('return a + b');
    expect(items[0].range).toEqual(new vscode.Range(new vscode.Position(1, 4), new vscode.Position(1, 4)));
    expect(items[1].range).toEqual(new vscode.Range(new vscode.Position(1, 2), new vscode.Position(1, 6)));
    expect(items[1].filterText).toBe('fo');
    expect(items[1].command).toEqual({ title: 'Log', command: 'x.log', arguments: [1] });
  });

  it('inserts an item without a range at the cursor, keeps snippets, and drops empty ones', () => {
    const items = toInlineItems(
      [{ insertText: 'x = 1' }, { insertText: { kind: 'snippet', value: 'f(${1:a})' } }, { insertText: '' }],
      at,
    );
    expect(items.map((item) => item.range)).toEqual([new vscode.Range(at, at), new vscode.Range(at, at)]);
    expect(items[1].insertText).toEqual(new vscode.SnippetString('f(${1:a})'));
  });

  it('has nothing for no answer', () => {
    expect(toInlineItems(null, at)).toEqual([]);
    expect(toInlineItems(undefined, at)).toEqual([]);
    expect(toInlineItems({ items: [] }, at)).toEqual([]);
  });
});

describe('InlineCompletionProvider', () => {
  it('asks the server and shows its suggestion, spinning while it waits', async () => {
    const server = new Answers();
    const busy: boolean[] = [];
    const provider = new InlineCompletionProvider(server, () => true, (value) => busy.push(value));
    const pending = provider.provideInlineCompletionItems(document, at, typed, token());
    expect(provider.busy).toBe(true);
    expect(busy).toEqual([true]);
    server.answer(suggestion('return a + b'));
    const items = await pending;
    expect(items?.map((item) => item.insertText)).toEqual(['return a + b']);
    expect(provider.busy).toBe(false);
    expect(busy).toEqual([true, false]);
    expect(provider.last).toEqual({ uri: 'file:///w/sample.py', position: at, explicit: false, texts: ['return a + b'] });
  });

  it('turned off, asks nothing as you type, but still answers an explicit request', async () => {
    const server = new Answers();
    const answers: boolean[] = [];
    const provider = new InlineCompletionProvider(server, () => false, undefined, (answer) => answers.push(answer.explicit));
    expect(await provider.provideInlineCompletionItems(document, at, typed, token())).toBeUndefined();
    expect(server.asked).toHaveLength(0);
    const pending = provider.provideInlineCompletionItems(document, at, invoked, token());
    server.answer(suggestion('x'));
    expect((await pending)?.length).toBe(1);
    expect(server.asked.map((request) => request.kind)).toEqual([vscode.InlineCompletionTriggerKind.Invoke]);
    expect(answers).toEqual([true]);
    expect(provider.requests).toBe(1);
  });

  it("hands VS Code's cancellation to the request, and shows nothing once cancelled", async () => {
    const server = new Answers();
    const provider = new InlineCompletionProvider(server, () => true);
    const cancel = token();
    const pending = provider.provideInlineCompletionItems(document, at, typed, cancel);
    expect(server.asked[0].token).toBe(cancel);
    cancel.cancel();
    server.fail(Object.assign(new Error('cancelled'), { code: -32800 }));
    expect(await pending).toBeUndefined();
    expect(provider.busy).toBe(false);
    expect(await provider.provideInlineCompletionItems(document, at, typed, token(true))).toBeUndefined();
    expect(server.asked).toHaveLength(1);
  });

  it('shows nothing when the server fails or is not running', async () => {
    const server = new Answers();
    const provider = new InlineCompletionProvider(server, () => true);
    const failing = provider.provideInlineCompletionItems(document, at, typed, token());
    server.fail(new Error('invalid params: textDocument.uri'));
    expect(await failing).toEqual([]);
    const absent = provider.provideInlineCompletionItems(document, at, invoked, token());
    server.answer(undefined);
    expect(await absent).toEqual([]);
    expect(provider.last?.texts).toEqual([]);
  });

  it('spins until the last of overlapping requests is done', async () => {
    const server = new Answers();
    const busy: boolean[] = [];
    const provider = new InlineCompletionProvider(server, () => true, (value) => busy.push(value));
    const first = provider.provideInlineCompletionItems(document, at, typed, token());
    const second = provider.provideInlineCompletionItems(document, at, typed, token());
    server.answer(null);
    await first;
    expect(provider.busy).toBe(true);
    server.answer(suggestion('y'));
    await second;
    expect(busy).toEqual([true, false]);
  });
});

describe('the toggle and the status bar item', () => {
  it('asks as you type only when on, and always when asked explicitly', () => {
    expect([shouldAsk(false, true), shouldAsk(false, false), shouldAsk(true, false)]).toEqual([true, false, true]);
  });

  it('says on, off, or a spinner, and what a click does', () => {
    const on = inlineStatusView({ enabled: true, busy: false, server: 'running' });
    expect(on.text).toBe('$(check) Completions');
    expect(on.tooltip).toMatch(/is on.*Click to turn it off/);
    const off = inlineStatusView({ enabled: false, busy: false, server: 'running' });
    expect(off.text).toBe('$(circle-slash) Completions');
    expect(off.tooltip).toMatch(/is off; Complete Here still asks.*Click to turn it on/);
    expect(inlineStatusView({ enabled: true, busy: true, server: 'running' }).text).toBe('$(loading~spin) Completions');
    expect(inlineStatusView({ enabled: true, busy: false, server: 'notFound' }).tooltip).toMatch(/server is not running/);
    expect(on.tooltip).not.toMatch(/not running/);
  });

  it('writes the toggle where the setting is set: the workspace if there, else the user settings', () => {
    expect(toggleTarget({ workspaceValue: false })).toBe('workspace');
    expect(toggleTarget({ workspaceValue: undefined })).toBe('global');
    expect(toggleTarget(undefined)).toBe('global');
  });
});
