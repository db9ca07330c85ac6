// The README's screenshots (scripts/screenshots.js runs this entry point in the real extension
// host): the chat view with context, a highlighted answer and the cost of the next question, and
// ghost text in the editor. Each scene is checked before it is captured.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { SwitchboardApi } from '../extension';
import { checkpoint, waitFor } from './harness';

const GREET = `from dataclasses import dataclass


@dataclass
class Greeter:
    greeting: str = "Hello"

    def greet(self, name):
        return f"{self.greeting}, {name}!"
`;

async function scenes(): Promise<void> {
  const extension = vscode.extensions.getExtension<SwitchboardApi>('switchboard.switchboard');
  assert.ok(extension, 'the extension is installed');
  const api = extension.isActive ? extension.exports : await extension.activate();
  await waitFor('the server to run', () => api.connection.state === 'running', 30000);
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder);

  const file = vscode.Uri.joinPath(folder.uri, 'greeter.py');
  await vscode.workspace.fs.writeFile(file, Buffer.from(GREET));
  const editor = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(file), vscode.ViewColumn.One);
  editor.selection = new vscode.Selection(7, 0, 9, 0);
  await vscode.commands.executeCommand('switchboard.chat');
  // A wider side bar than the default, as one would set it for a chat: the editor gives up the room.
  await vscode.commands.executeCommand('workbench.action.focusActiveEditorGroup');
  for (let step = 0; step < 3; step++) {
    await vscode.commands.executeCommand('workbench.action.decreaseViewWidth');
  }
  await api.chat.send('Say hello and show a function.');
  await vscode.window.showTextDocument(editor.document, vscode.ViewColumn.One);
  await checkpoint('compose', { webviewType: { selector: '#input', text: 'Now add type hints' } });
  await waitFor('the count of the next question', () => api.chat.lastCount?.draft === 'Now add type hints');
  await checkpoint('vscode-chat', {
    webviewIncludes: ['Hello from the fake provider', 'openai/gpt-4o · 1.2k in · 800 out · $0.011'],
    webviewHasAnywhere: ['#context .chip.editor', '#tokens:not(:empty)', '.code-block code.hljs .hljs-keyword'],
    screenshot: 'vscode-chat.png',
  });

  const sample = await vscode.window.showTextDocument(
    await vscode.workspace.openTextDocument(vscode.Uri.joinPath(folder.uri, 'sample.py')),
    vscode.ViewColumn.One,
  );
  const cursor = new vscode.Position(1, 4);
  sample.selection = new vscode.Selection(cursor, cursor);
  await vscode.commands.executeCommand('switchboard.completeHere');
  await checkpoint('vscode-ghost-text', { ghostTextIncludes: 'return a + b', screenshot: 'vscode-ghost-text.png' });
}

export async function run(): Promise<void> {
  try {
    await scenes();
  } catch (error) {
    console.log(`screenshots failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    throw error;
  }
}
