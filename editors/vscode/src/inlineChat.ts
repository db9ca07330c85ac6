// Inline chat (Ctrl+I on a selection): your instruction goes to the server's `switchboard.rewrite`
// with action `edit`, so the prompt and the code extraction are the server's, as for Explain and
// Refactor; the answer comes back as a diff in place of the selection, to accept or reject.
import * as vscode from 'vscode';
import type { Connection } from './connection';
import { rewriteSelection, type RewriteReview } from './rewrite';
import type { UsageStatus } from './statusBar';
import type { Operations } from './ui';

/** Resolves to true once the server's proposal is on screen, false when there is none. */
export async function inlineChat(
  connection: Connection,
  review: RewriteReview,
  status: UsageStatus,
  operations: Operations,
  instructionArg?: string,
): Promise<boolean> {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.selection.isEmpty) {
    void vscode.window.showWarningMessage('Switchboard: select the code to change first.');
    return false;
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
    return false;
  }
  return rewriteSelection(connection, review, status, operations, 'edit', instruction.trim());
}
