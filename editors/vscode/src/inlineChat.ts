// Inline chat (Ctrl+I on a selection): your instruction goes to the chat with the selection
// attached, and the answer's code comes back as a diff in place of the selection, to accept or
// reject. The exchange stays in the chat view, so an answer without code is still there to read.
import * as vscode from 'vscode';
import type { ChatView } from './chatView';
import { codeBlocks } from './markdown';
import type { Proposal, Proposals } from './proposals';

/** Resolves to the proposal shown, or undefined when there was nothing to propose. */
export async function inlineChat(
  chat: ChatView,
  proposals: Proposals,
  instructionArg?: string,
): Promise<Proposal | undefined> {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.selection.isEmpty) {
    void vscode.window.showWarningMessage('Switchboard: select the code to change first.');
    return undefined;
  }
  const instruction =
    instructionArg ??
    (await vscode.window.showInputBox({
      title: 'Switchboard: Edit the selection',
      prompt: 'What should change? The answer opens as a diff of the selection.',
      placeHolder: 'e.g. add type hints',
      ignoreFocusOut: true,
    }));
  if (!instruction?.trim()) {
    return undefined;
  }
  const { document, selection } = editor;
  const range = new vscode.Range(selection.start, selection.end);
  const original = document.getText(range);
  await chat.askAboutSelection(instruction);
  const turn = chat.lastAnswer;
  if (!turn || turn.error || turn.cancelled) {
    return undefined;
  }
  const block = codeBlocks(turn.answer.text)[0];
  if (!block || !block.code.trim()) {
    void vscode.window.showInformationMessage('Switchboard answered without code: the answer is in the chat view.');
    return undefined;
  }
  const code = original.endsWith('\n') && !block.code.endsWith('\n') ? `${block.code}\n` : block.code;
  await vscode.window.showTextDocument(document, editor.viewColumn);
  return proposals.propose(document, range, code);
}
