// Integration tests inside a real VS Code extension host (code-server), against the real
// `switchboard serve` talking to a loopback OpenAI fake (scripts/fake_provider.py).
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { SwitchboardApi } from '../extension';
import { describeError } from '../errors';
import { draftSummary, formatUsd, statusText } from '../format';
import {
  Methods,
  type ChatProgress,
  type ProviderInfo,
  type SetApiKeyResult,
  type SignInResult,
  type UsageResult,
} from '../protocol';
import { checkpoint, sleep, test, waitFor } from './harness';

// What the fake answers (scripts/fake_provider.py).
const CHAT_TEXT =
  "**Hello** from the fake provider. Here is a function:\n\n" +
  "```python\ndef greet(name):\n    return f'Hello, {name}!'\n```\n\n" +
  '- it streams\n- it has a `code block`\n';
const SLOW_TEXT = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');

let api: SwitchboardApi;

const TYPED: vscode.InlineCompletionContext = {
  triggerKind: vscode.InlineCompletionTriggerKind.Automatic,
  selectedCompletionInfo: undefined,
};
const INVOKED: vscode.InlineCompletionContext = {
  triggerKind: vscode.InlineCompletionTriggerKind.Invoke,
  selectedCompletionInfo: undefined,
};
const NEVER = new vscode.CancellationTokenSource().token;

function workspaceFile(name: string): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the tests run with a workspace folder open');
  return vscode.Uri.joinPath(folder.uri, name);
}

async function openSample(): Promise<vscode.TextEditor> {
  const document = await vscode.workspace.openTextDocument(workspaceFile('sample.py'));
  return vscode.window.showTextDocument(document, vscode.ViewColumn.One);
}

async function setting(key: string, value: unknown): Promise<void> {
  await vscode.workspace.getConfiguration('switchboard').update(key, value, vscode.ConfigurationTarget.Global);
}

function lastAssistant() {
  const turn = api.chat.lastAnswer;
  assert.ok(turn, 'the chat has an answer');
  return turn;
}

test('activation starts the real server, found on the PATH, with the settings as initializationOptions', async () => {
  const extension = vscode.extensions.getExtension<SwitchboardApi>('switchboard.switchboard');
  assert.ok(extension, 'the extension is installed');
  api = extension.isActive ? extension.exports : await extension.activate();
  await waitFor('the server to run', () => api.connection.state === 'running', 30000);
  assert.equal(api.connection.server?.origin, 'path');
  assert.equal(api.connection.server?.command, process.env.SWITCHBOARD_E2E_SERVER);
  const models = await api.models.list();
  const gpt4o = models.find((model) => model.id === 'openai/gpt-4o');
  assert.ok(gpt4o?.available, 'openai has the fake key');
  assert.equal(models.find((model) => model.id === 'anthropic/claude-sonnet-4-5')?.available, false);
  assert.equal(api.status.text, '$(sparkle) 0 tok · $0.00');
});

test('the chat view shows the answer, rendered, with model, tokens and cost; the status bar too', async () => {
  await openSample();
  await vscode.commands.executeCommand('switchboard.chat', 'Say hello and show a function.');
  const turn = lastAssistant();
  assert.equal(turn.error, undefined);
  assert.equal(turn.answer.text, CHAT_TEXT);
  assert.equal(turn.answer.model, 'openai/gpt-4o', 'switchboard.defaultModel went as an initializationOption');
  assert.deepEqual(
    { input: turn.answer.usage?.inputTokens, output: turn.answer.usage?.outputTokens },
    { input: 1200, output: 800 },
  );
  assert.equal(turn.answer.cost?.totalUsd, 0.011);
  await waitFor('the status bar to count the chat', () => api.status.text === '$(sparkle) 2k tok · $0.011');
  await checkpoint('chat', {
    screenshot: 'chat.png',
    webviewIncludes: ['Hello from the fake provider', "return f'Hello, {name}!'", 'openai/gpt-4o · 1.2k in · 800 out · $0.011'],
    webviewHas: ['strong', '.code-block button[data-action="copy"]', '.code-block button[data-action="insert"]'],
    statusBarIncludes: '2k tok · $0.011',
  });
});

test("a code block's Insert and Copy buttons put its code in the editor and on the clipboard", async () => {
  const document = await vscode.workspace.openTextDocument({ language: 'python', content: '' });
  await vscode.window.showTextDocument(document, vscode.ViewColumn.One);
  const code = "def greet(name):\n    return f'Hello, {name}!'";
  const block = '#messages .message.assistant:last-of-type .code-block';
  await checkpoint('click-insert', { click: `${block} button[data-action="insert"]` });
  await waitFor('the inserted code', () => document.getText() === code);
  await vscode.env.clipboard.writeText('');
  await checkpoint('click-copy', { click: `${block} button[data-action="copy"]` });
  assert.equal(
    await waitFor('the copied code', async () => ((await vscode.env.clipboard.readText()) === code ? code : undefined)),
    code,
  );
  await vscode.window.showTextDocument(document);
  await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
});

test('the chat view streams the answer as it arrives, and the status bar shows progress', async () => {
  await vscode.commands.executeCommand('switchboard.newChat');
  const done = vscode.commands.executeCommand('switchboard.chat', 'Count, slowly.');
  const partial = await waitFor('some streamed text', () => {
    const text = api.chat.lastAnswer?.answer.text ?? '';
    return text.length > 10 && api.chat.lastAnswer?.streaming ? text : undefined;
  });
  assert.ok(SLOW_TEXT.startsWith(partial) && partial.length < SLOW_TEXT.length);
  assert.match(api.status.text, /^\$\(loading~spin\) \d+ tok…$/);
  await checkpoint('streaming', {
    screenshot: 'streaming.png',
    webviewStreamingPrefixOf: SLOW_TEXT,
    statusBarIncludes: 'tok…',
  });
  await done;
  assert.equal(lastAssistant().answer.text, SLOW_TEXT);
  assert.equal(lastAssistant().streaming, false);
});

test('partial results reach the client in several batches before the result', async () => {
  const batches: ChatProgress[] = [];
  const result = await api.connection.chat(
    { messages: [{ role: 'user', content: 'Count, slowly.' }] },
    (value) => batches.push(value),
  );
  assert.ok(batches.length > 5, `${batches.length} batches`);
  const streamed = batches.flatMap((b) => b.events).filter((e) => e.type === 'text');
  assert.equal(streamed.map((e) => (e as { text: string }).text).join(''), SLOW_TEXT);
  assert.equal(result.stopReason, 'endTurn');
});

test("the chat view's Stop button cancels the request and keeps what arrived", async () => {
  await vscode.commands.executeCommand('notifications.clearAll');
  await vscode.commands.executeCommand('switchboard.newChat');
  const done = vscode.commands.executeCommand('switchboard.chat', 'Count again, slowly.');
  await waitFor('some streamed text', () => (api.chat.lastAnswer?.answer.text.length ?? 0) > 10);
  await checkpoint('click-stop', { click: '#stop' });
  await done;
  const turn = lastAssistant();
  assert.equal(turn.cancelled, true);
  assert.equal(turn.streaming, false);
  assert.ok(turn.answer.text.length > 0 && turn.answer.text.length < SLOW_TEXT.length);
  assert.ok(SLOW_TEXT.startsWith(turn.answer.text));
  assert.equal(api.chat.busy, false);
});

test('the chat is a view in its own side bar container; Ctrl+Alt+I opens and focuses it; it moves to the secondary side bar', async () => {
  assert.equal(
    vscode.window.tabGroups.all.flatMap((group) => group.tabs).some((tab) => tab.input instanceof vscode.TabInputWebview),
    false,
    'no chat in an editor tab',
  );
  await vscode.commands.executeCommand('switchboard.chat');
  await checkpoint('chat-left', { chatSide: 'left' });
  await vscode.commands.executeCommand('workbench.action.closeSidebar');
  await waitFor('the view to hide', () => !api.chat.visible);
  await openSample();
  await vscode.commands.executeCommand('workbench.action.focusActiveEditorGroup');
  await checkpoint('press-ctrl-alt-i', { focusEditor: true, press: 'Control+Alt+I' });
  await waitFor('the view to open', () => api.chat.visible);
  await checkpoint('chat-focused', { chatSide: 'left', webviewFocus: '#input' });
  await vscode.commands.executeCommand('vscode.moveViews', {
    viewIds: ['switchboard.chatView'],
    destinationId: 'workbench.panel.chat',
  });
  await vscode.commands.executeCommand('switchboard.chat');
  await waitFor('the moved view to draw', () => api.chat.visible);
  await checkpoint('chat-right', { chatSide: 'right' });
  await vscode.commands.executeCommand('workbench.action.resetViewLocations');
  await vscode.commands.executeCommand('workbench.action.closeAuxiliaryBar');
  await vscode.commands.executeCommand('switchboard.chat');
  await checkpoint('chat-back-left', { chatSide: 'left' });
});

test('the active file, or its selection, goes with the question while its chip is on; #file attaches another', async () => {
  await vscode.commands.executeCommand('switchboard.newChat');
  await vscode.workspace.fs.writeFile(workspaceFile('notes.md'), Buffer.from('# Notes\n\nThe add function sums.\n'));
  const editor = await openSample();
  editor.selection = new vscode.Selection(0, 0, 1, 0);
  await waitFor('the selection chip', () => api.chat.context.editor?.kind === 'selection' && api.chat.context.editor);
  assert.deepEqual(
    api.chat.chips().map((chip) => [chip.label, chip.on]),
    [['sample.py:1', true]],
  );
  await checkpoint('chip-shown', { webviewHasAnywhere: ['#context .chip.editor[aria-pressed="true"]'] });
  await checkpoint('chip-toggle', { click: '#context .chip.editor' });
  await waitFor('the chip to turn off', () => !api.chat.context.editorOn);
  await checkpoint('chip-off', { webviewHasAnywhere: ['#context .chip.editor.off'] });
  await checkpoint('chip-toggle-again', { click: '#context .chip.editor' });
  await waitFor('the chip to turn on', () => api.chat.context.editorOn);
  // #file in the composer opens the workspace's files; picking one attaches it.
  await checkpoint('type-hash', { webviewType: { selector: '#input', text: 'What is in #' } });
  await checkpoint('file-picker', { quickInputIncludes: 'Attach a file' });
  await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
  const attached = await vscode.commands.executeCommand<{ label: string }>('switchboard.attachFile', workspaceFile('notes.md'));
  assert.equal(attached?.label, 'notes.md');
  await checkpoint('file-chip', { webviewHasAnywhere: ['#context .chip.file'] });
  // Before sending: the size of the request in tokens, and its cost, from switchboard/countTokens.
  const summary = await api.chat.countDraft('What is in these?');
  const count = api.chat.lastCount;
  assert.ok(summary && count, 'the composer has a count');
  assert.ok(count.result.inputTokens > 20, `${count.result.inputTokens} tokens`);
  assert.equal(typeof count.result.costUsd, 'number', 'gpt-4o is priced');
  assert.equal(summary, draftSummary(count.result));
  await checkpoint('tokens-shown', { webviewIncludes: [], webviewHasAnywhere: ['#tokens:not(:empty)'] });
  await api.chat.send('What is in these?');
  const question = api.chat.turns[api.chat.turns.length - 2];
  assert.ok(question.role === 'user');
  assert.deepEqual(question.context, ['sample.py:1', 'notes.md']);
  assert.equal(
    question.content,
    'From `sample.py` (line 1):\n\n```python\ndef add(a, b):\n\n```\n\n' +
      'From `notes.md`:\n\n```markdown\n# Notes\n\nThe add function sums.\n\n```\n\nWhat is in these?',
  );
  assert.deepEqual(api.chat.context.files, [], '#file picks go with one question');
  await checkpoint('context-sent', { webviewIncludes: ['sample.py:1', 'notes.md', 'What is in these?'] });
  // Turned off, nothing from the editor goes.
  api.chat.toggleEditorContext(false);
  await api.chat.send('And now?');
  const plain = api.chat.turns[api.chat.turns.length - 2];
  assert.ok(plain.role === 'user');
  assert.equal(plain.content, 'And now?');
  api.chat.toggleEditorContext(true);
});

test("a code block's Apply opens a diff against the file; Accept writes it, Reject leaves it", async () => {
  await vscode.commands.executeCommand('switchboard.newChat');
  const document = await vscode.workspace.openTextDocument({ language: 'python', content: 'old = 1\n' });
  await vscode.window.showTextDocument(document, vscode.ViewColumn.One);
  api.chat.toggleEditorContext(false);
  await api.chat.send('Say hello and show a function.');
  api.chat.toggleEditorContext(true);
  await vscode.window.showTextDocument(document, vscode.ViewColumn.One);
  const block = '#messages .message.assistant:last-of-type .code-block';
  await checkpoint('highlighted', { webviewHas: ['.code-block code.hljs .hljs-keyword', '.code-block button[data-action="apply"]'] });
  await checkpoint('click-apply', { click: `${block} button[data-action="apply"]` });
  await waitFor('the diff tab', proposalTab);
  assert.equal(document.getText(), 'old = 1\n', 'nothing changes before Accept');
  const [proposal] = api.proposals.open;
  assert.equal(proposal.proposed, "def greet(name):\n    return f'Hello, {name}!'\n");
  await vscode.commands.executeCommand('switchboard.acceptProposal');
  assert.equal(document.getText(), "def greet(name):\n    return f'Hello, {name}!'\n");
  assert.equal(await api.chat.apply('x = 2'), true);
  await waitFor('the second diff', proposalTab);
  await vscode.commands.executeCommand('switchboard.rejectProposal');
  assert.equal(document.getText(), "def greet(name):\n    return f'Hello, {name}!'\n", 'Reject changes nothing');
  await waitFor('the diff to close', () => !proposalTab());
  await vscode.window.showTextDocument(document);
  await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
});

test('inline chat: Ctrl+I on a selection asks for an instruction, and the answer opens as a diff of the selection', async () => {
  const document = await vscode.workspace.openTextDocument({ language: 'python', content: 'def add(a, b):\n    return a + b\n# end\n' });
  const editor = await vscode.window.showTextDocument(document, vscode.ViewColumn.One);
  editor.selection = new vscode.Selection(0, 0, 2, 0);
  await vscode.commands.executeCommand('workbench.action.focusActiveEditorGroup');
  await checkpoint('press-ctrl-i', { focusEditor: true, press: 'Control+I' });
  await checkpoint('inline-prompt', { quickInputIncludes: 'Edit the selection', typeText: 'add type hints', press: 'Enter' });
  await waitFor('the diff tab', proposalTab, 30000);
  const [proposal] = api.proposals.open;
  assert.equal(proposal.document, document);
  assert.equal(proposal.original, 'def add(a, b):\n    return a + b\n');
  assert.equal(proposal.replacement, 'def add(a: int, b: int) -> int:\n    return a + b\n');
  assert.equal(document.getText(), 'def add(a, b):\n    return a + b\n# end\n', 'nothing changes before Accept');
  await vscode.commands.executeCommand('switchboard.acceptProposal');
  assert.equal(document.getText(), 'def add(a: int, b: int) -> int:\n    return a + b\n# end\n');
  await vscode.window.showTextDocument(document);
  await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
});

test('conversations are kept in the workspace: listed, reopened, renamed, deleted', async () => {
  await vscode.commands.executeCommand('switchboard.newChat');
  api.chat.toggleEditorContext(false);
  await api.chat.send('Remember this one.');
  const first = api.chat.conversation.id;
  await vscode.commands.executeCommand('switchboard.newChat');
  await api.chat.send('A second conversation.');
  api.chat.toggleEditorContext(true);
  const second = api.chat.conversation.id;
  assert.notEqual(first, second);
  const listed = api.conversations.list();
  assert.deepEqual(listed.slice(0, 2).map((c) => c.title), ['A second conversation.', 'Remember this one.']);
  assert.equal(listed[1].turns.length, 2);
  const picking = vscode.commands.executeCommand('switchboard.history');
  await checkpoint('history-list', { quickInputIncludes: 'Remember this one.', screenshot: 'history.png' });
  await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
  assert.equal(await picking, undefined, 'closed without a choice');
  assert.equal(await vscode.commands.executeCommand('switchboard.openConversation', first), true);
  assert.equal(api.chat.conversation.id, first);
  assert.deepEqual(
    api.chat.turns.map((turn) => (turn.role === 'user' ? turn.text : turn.answer.text)),
    ['Remember this one.', CHAT_TEXT],
  );
  await checkpoint('reopened', { webviewIncludes: ['Remember this one.', 'Hello from the fake provider', '1.2k in · 800 out'] });
  await api.chat.send('And a follow-up.');
  assert.equal(api.conversations.get(first)?.turns.length, 4, 'the reopened conversation goes on');
  assert.equal(await vscode.commands.executeCommand('switchboard.renameConversation', first, 'Kept chat'), true);
  assert.equal(api.conversations.get(first)?.title, 'Kept chat');
  assert.equal(await vscode.commands.executeCommand('switchboard.deleteConversation', second), true);
  assert.equal(api.conversations.get(second), undefined);
  assert.equal(await vscode.commands.executeCommand('switchboard.deleteConversation', first), true);
  assert.equal(api.chat.turns.length, 0, 'deleting the open conversation starts a new chat');
});

test("the inline completion provider returns the fake's suggestion at the cursor, with a spinner while it asks", async () => {
  const editor = await openSample();
  const cursor = new vscode.Position(1, 4);
  editor.selection = new vscode.Selection(cursor, cursor);
  const cancel = new vscode.CancellationTokenSource();
  const asking = api.ghostText.provider.provideInlineCompletionItems(editor.document, cursor, TYPED, cancel.token);
  assert.equal(api.ghostText.text, '$(loading~spin) Completions');
  const items = await asking;
  assert.deepEqual(
    items?.map((item) => [item.insertText, item.range?.start, item.range?.end]),
    [['return a + b', cursor, cursor]],
  );
  assert.equal(api.ghostText.text, '$(check) Completions');
  await checkpoint('ghost-status', { statusBarIncludes: 'Completions' });
});

test('the suggest widget does not repeat the suggestion (textDocument/completion is for editors without ghost text)', async () => {
  const editor = await openSample();
  const list = await vscode.commands.executeCommand<vscode.CompletionList>(
    'vscode.executeCompletionItemProvider',
    editor.document.uri,
    new vscode.Position(1, 4),
  );
  const repeated = list.items.filter((item) => item.detail === 'Switchboard suggestion');
  assert.deepEqual(repeated.map((item) => item.label), []);
});

test('cancelling the request (VS Code does when you type on) ends it and shows nothing', async () => {
  const document = await vscode.workspace.openTextDocument({ language: 'python', content: '# slow_completion\n' });
  await vscode.window.showTextDocument(document, vscode.ViewColumn.One);
  const cancel = new vscode.CancellationTokenSource();
  const asking = api.ghostText.provider.provideInlineCompletionItems(document, new vscode.Position(1, 0), TYPED, cancel.token);
  assert.equal(api.ghostText.provider.busy, true);
  cancel.cancel();
  assert.equal(await asking, undefined);
  assert.equal(api.ghostText.provider.busy, false);
  assert.equal(api.ghostText.text, '$(check) Completions');
  await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
});

test('Toggle Inline Completions turns ghost text as you type off and on, and the status bar says so', async () => {
  const editor = await openSample();
  const cursor = new vscode.Position(1, 4);
  assert.equal(await vscode.commands.executeCommand('switchboard.toggleInlineCompletions'), false);
  assert.equal(vscode.workspace.getConfiguration('switchboard').get('inlineCompletions.enabled'), false);
  assert.equal(api.ghostText.text, '$(circle-slash) Completions');
  const sent = api.ghostText.provider.requests;
  const typed = await api.ghostText.provider.provideInlineCompletionItems(editor.document, cursor, TYPED, NEVER);
  assert.equal(typed, undefined);
  assert.equal(api.ghostText.provider.requests, sent, 'nothing asked as you type');
  const invoked = await api.ghostText.provider.provideInlineCompletionItems(editor.document, cursor, INVOKED, NEVER);
  assert.deepEqual(invoked?.map((item) => item.insertText), ['return a + b'], 'an explicit request is still answered');
  await checkpoint('ghost-off', {
    hover: '.statusbar-item:has-text("Completions")',
    hoverIncludes: ['ghost text is off'],
    screenshot: 'ghost-text-off.png',
  });
  assert.equal(await vscode.commands.executeCommand('switchboard.toggleInlineCompletions'), true);
  assert.equal(api.ghostText.text, '$(check) Completions');
});

test('typing brings the suggestion up as ghost text by itself', async () => {
  const document = await vscode.workspace.openTextDocument({ language: 'python', content: 'def add(a, b):\n    ' });
  const editor = await vscode.window.showTextDocument(document, vscode.ViewColumn.One);
  const end = new vscode.Position(1, 4);
  editor.selection = new vscode.Selection(end, end);
  const uri = document.uri.toString();
  const typed = new vscode.Position(1, 5);
  await vscode.commands.executeCommand('workbench.action.focusActiveEditorGroup');
  await checkpoint('type-r', { focusEditor: true, press: 'r' });
  await waitFor('the typed "r"', () => document.lineAt(1).text === '    r');
  const answer = await waitFor('a suggestion as you type', () => {
    const last = api.ghostText.provider.last;
    return last?.uri === uri && last.position.isEqual(typed) && !last.explicit && last.texts.length > 0 ? last : undefined;
  });
  assert.deepEqual(answer.texts, ['eturn a + b'], 'the typed "r" is not repeated');
  await checkpoint('ghost-as-you-type', { ghostTextIncludes: 'eturn a + b' });
  await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
});

test('Complete Here shows the suggestion as ghost text at the cursor, and Tab accepts it', async () => {
  const editor = await openSample();
  const cursor = new vscode.Position(1, 4);
  editor.selection = new vscode.Selection(cursor, cursor);
  const before = api.ghostText.provider.last;
  assert.equal(await vscode.commands.executeCommand('switchboard.completeHere'), true);
  const answer = await waitFor('the explicit request', () => {
    const last = api.ghostText.provider.last;
    return last !== before && last?.explicit ? last : undefined;
  });
  assert.deepEqual(answer.texts, ['return a + b']);
  assert.deepEqual(answer.position, cursor);
  assert.equal(editor.document.lineAt(1).text, '    ', 'nothing is written before Tab');
  await checkpoint('ghost-text', { ghostTextIncludes: 'return a + b', screenshot: 'ghost-text.png' });
  assert.equal(editor.document.lineAt(1).text, '    ', 'ghost text is not in the document');
  await checkpoint('press-tab', { focusEditor: true, press: 'Tab' });
  await waitFor('the accepted suggestion', () => editor.document.lineAt(1).text === '    return a + b');
  assert.deepEqual(editor.selection.active, new vscode.Position(1, 16));
});

function proposalTab(): vscode.Tab | undefined {
  return vscode.window.tabGroups.all
    .flatMap((group) => group.tabs)
    .find((t) => t.input instanceof vscode.TabInputTextDiff && t.input.modified.scheme === 'switchboard-proposal');
}

test("Refactor Selection runs the server's switchboard.rewrite; its edit shows as a diff, applied on Accept, and the notification goes", async () => {
  const editor = await openSample();
  editor.selection = new vscode.Selection(0, 0, 2, 0);
  const shown = await vscode.commands.executeCommand('switchboard.refactorSelection');
  assert.equal(shown, true);
  const tab = await waitFor('the diff tab', proposalTab);
  const input = tab.input as vscode.TabInputTextDiff;
  assert.equal(path.basename(input.original.fsPath), 'sample.py');
  assert.equal(editor.document.lineAt(0).text, 'def add(a, b):', 'nothing changes before the user accepts');
  const [proposal] = api.proposals.open;
  assert.equal(proposal.replacement, 'def add(a: int, b: int) -> int:\n    return a + b\n', "the server's extraction and fit");
  await checkpoint('proposal-shown', { notificationIncludes: 'proposes a change to sample.py', screenshot: 'proposal.png' });
  assert.equal(await vscode.commands.executeCommand('switchboard.acceptProposal'), true);
  assert.equal(await proposal.settled, true);
  assert.equal(editor.document.getText(), 'def add(a: int, b: int) -> int:\n    return a + b\n');
  await checkpoint('proposal-settled', { noNotificationIncludes: 'proposes a change' });
  await editor.document.save();
});

test("Explain Selection proposes the server's commented code as a diff; Reject keeps the file and closes the notification", async () => {
  const editor = await openSample();
  const before = editor.document.getText();
  editor.selection = new vscode.Selection(0, 0, 2, 0);
  assert.equal(await vscode.commands.executeCommand('switchboard.explainSelection'), true);
  const tab = await waitFor('the diff tab', proposalTab);
  const proposed = await vscode.workspace.openTextDocument((tab.input as vscode.TabInputTextDiff).modified);
  assert.equal(
    proposed.getText(),
    'def add(a: int, b: int) -> int:\n    # The sum of the two arguments; works for any type with +.\n    return a + b\n',
  );
  const [proposal] = api.proposals.open;
  await checkpoint('explain-shown', { notificationIncludes: 'proposes a change to sample.py' });
  await vscode.commands.executeCommand('switchboard.rejectProposal');
  assert.equal(await proposal.settled, false);
  assert.equal(editor.document.getText(), before, 'Reject changes nothing');
  await waitFor('the diff tab to close', () => !proposalTab());
  await checkpoint('explain-settled', { noNotificationIncludes: 'proposes a change' });
  await vscode.commands.executeCommand('notifications.clearAll');
});

test('Ask About Selection sends the selection with the file name', async () => {
  const editor = await openSample();
  editor.selection = new vscode.Selection(0, 0, 1, 16);
  await vscode.commands.executeCommand('switchboard.askAboutSelection', 'What does it do?');
  const question = api.chat.turns[api.chat.turns.length - 2];
  assert.equal(question.role, 'user');
  assert.equal(
    question.role === 'user' && question.content,
    'From `sample.py` (lines 1-2):\n\n```python\ndef add(a: int, b: int) -> int:\n    return a + b\n```\n\nWhat does it do?',
  );
  assert.deepEqual(question.role === 'user' && question.context, ['sample.py:1-2']);
  assert.equal(lastAssistant().answer.text, CHAT_TEXT);
});

test('Choose Model sets the model, and the server hears it through didChangeConfiguration', async () => {
  const chosen = await vscode.commands.executeCommand('switchboard.chooseModel', 'openai/gpt-4o-mini');
  assert.equal(chosen, 'openai/gpt-4o-mini');
  assert.equal(vscode.workspace.getConfiguration('switchboard').get('defaultModel'), 'openai/gpt-4o-mini');
  await sleep(200);
  const result = await api.connection.chat({ messages: [{ role: 'user', content: 'hi' }] }, () => undefined);
  assert.equal(result.model, 'openai/gpt-4o-mini', 'the server uses the new default model');
  await vscode.commands.executeCommand('switchboard.chooseModel', 'openai/gpt-4o');
});

test('the status bar tooltip and Show Usage have the totals per model', async () => {
  const usage = await api.connection.request<UsageResult>(Methods.usage, {});
  await waitFor('the status bar to catch up', () => api.status.text === statusText(usage.session));
  const tooltip = api.status.item.tooltip as vscode.MarkdownString;
  assert.match(tooltip.value, /\| openai\/gpt\\-4o \| \d+ \|/);
  assert.match(tooltip.value, /\| openai\/gpt\\-4o\\-mini \| 1 \|/);
  assert.match(tooltip.value, /Last: openai\/gpt\\-4o\\-mini — 1\.2k in · 800 out/);
  await checkpoint('tooltip', {
    hover: '.statusbar-item:has-text("tok ·")',
    hoverIncludes: ['openai/gpt-4o-mini', 'Last: openai/gpt-4o-mini', 'Click to choose a model.'],
    screenshot: 'status-tooltip.png',
  });
  const document = (await vscode.commands.executeCommand('switchboard.showUsage')) as vscode.TextDocument;
  const text = document.getText();
  assert.match(text, /\| openai\/gpt-4o-mini \| 1 \| 1200 \| 0 \| 0 \| 800 \| \$0\.0007 \|/);
  assert.ok(text.includes(`| **total** | ${usage.session.requests} |`));
  assert.ok(text.includes(formatUsd(usage.session.costUsd)));
});

test("an authentication failure shows the error's markdown with one Sign In action, which leads to Anthropic's API key box", async () => {
  await setting('defaultModel', 'anthropic/claude-sonnet-4-5');
  await vscode.commands.executeCommand('switchboard.chat', 'Hello Claude');
  const turn = lastAssistant();
  assert.ok(turn.error, 'the chat shows the error');
  const failure = await api.connection
    .chat({ messages: [{ role: 'user', content: 'x' }] }, () => undefined)
    .then(() => undefined, (error: unknown) => error);
  const report = describeError(failure);
  assert.equal((failure as { data?: { code?: string } }).data?.code, 'authenticationFailed');
  assert.deepEqual(
    report.actions.map((action) => [action.title, action.args]),
    [['Sign In…', ['anthropic']]],
  );
  await checkpoint('auth-error', {
    screenshot: 'auth-error.png',
    notificationIncludes: 'Switchboard:',
    buttons: ['Sign In…'],
    clickButton: 'Sign In…',
    webviewHasAnywhere: ['.message.assistant:last-of-type .error p'],
  });
  // Anthropic signs in with an API key: Sign In leads to the password box for it.
  await checkpoint('sign-in-key', { quickInputIncludes: 'API key for Anthropic', press: 'Escape' });
  await setting('defaultModel', 'openai/gpt-4o');
  await vscode.commands.executeCommand('notifications.clearAll');
});

test('Set API Key stores a key the provider accepts and refuses one it rejects; Sign Out', async () => {
  const wrong = (await vscode.commands.executeCommand('switchboard.setApiKey', 'openai', 'sk-wrong-0000000000000000')) as SetApiKeyResult;
  assert.equal(wrong.status, 'failed');
  const key = process.env.SWITCHBOARD_E2E_OPENAI_KEY;
  assert.ok(key);
  const right = (await vscode.commands.executeCommand('switchboard.setApiKey', 'openai', key)) as SetApiKeyResult;
  assert.equal(right.status, 'signedIn');
  const out = (await vscode.commands.executeCommand('switchboard.signOut', 'openai')) as SignInResult;
  // The env var still provides a key, and the server says so.
  assert.equal(out.status, 'signedIn');
  assert.match(out.message ?? '', /OPENAI_API_KEY/);
  await vscode.commands.executeCommand('notifications.clearAll');
});

test('Sign In runs the device flow: the code with Copy and Open, then the wait, then a working provider', async () => {
  await vscode.commands.executeCommand('notifications.clearAll');
  const signingIn = vscode.commands.executeCommand('switchboard.signIn', 'copilot') as Thenable<SignInResult | undefined>;
  await vscode.env.clipboard.writeText('');
  await checkpoint('device-code', {
    notificationIncludes: 'WDJB-MJHT',
    buttons: ['Copy Code and Open'],
    clickButton: 'Copy Code and Open',
    screenshot: 'sign-in.png',
  });
  assert.equal(await waitFor('the copied code', async () => (await vscode.env.clipboard.readText()) || undefined), 'WDJB-MJHT');
  const outcome = await signingIn;
  assert.equal(outcome?.status, 'signedIn');
  const { providers } = await api.connection.request<{ providers: ProviderInfo[] }>(Methods.providers, {});
  const copilot = providers.find((provider) => provider.id === 'copilot');
  assert.equal(copilot?.auth.status, 'signedIn');
  assert.equal(copilot?.auth.source, 'keyring');
  const result = await api.connection.chat({ model: 'copilot/gpt-5-mini', messages: [{ role: 'user', content: 'hi' }] }, () => undefined);
  assert.equal(result.stopReason, 'endTurn');
  const out = (await vscode.commands.executeCommand('switchboard.signOut', 'copilot')) as SignInResult;
  assert.equal(out.status, 'signedOut');
  await vscode.commands.executeCommand('notifications.clearAll');
});

test('a missing server path shows the install error; a Python interpreter as the path starts it again', async () => {
  await vscode.commands.executeCommand('notifications.clearAll');
  await setting('server.path', '/nonexistent/bin/switchboard');
  await waitFor('the not-found state', () => api.connection.state === 'notFound', 20000);
  assert.match(api.connection.lastStartError ?? '', /"\/nonexistent\/bin\/switchboard" \(setting switchboard.server.path\) was not found/);
  assert.equal(api.status.text, '$(warning) Switchboard');
  await checkpoint('not-found', {
    screenshot: 'server-not-found.png',
    notificationIncludes: 'was not found',
    buttons: ['How to Install', 'Set Server Path'],
  });
  const python = path.join(path.dirname(process.env.SWITCHBOARD_E2E_SERVER ?? ''), 'python');
  await setting('server.path', python);
  await waitFor('the server to run again', () => api.connection.state === 'running', 30000);
  assert.deepEqual(api.connection.server, {
    command: python,
    args: ['-m', 'switchboard.server', 'serve'],
    origin: 'setting',
  });
  const result = await api.connection.chat({ messages: [{ role: 'user', content: 'back?' }] }, () => undefined);
  assert.equal(result.stopReason, 'endTurn');
});
