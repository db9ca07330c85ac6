// Complete Here: asks for a suggestion at the cursor now and shows it as ghost text, which Tab
// accepts. It is answered even when ghost text as you type is turned off (see inlineCompletion.ts).
import * as path from 'node:path';
import * as vscode from 'vscode';

export function displayName(uri: vscode.Uri): string {
  return vscode.workspace.asRelativePath(uri, false) || path.basename(uri.fsPath);
}

/** Resolves to whether there was an editor to ask in. */
export async function completeHere(editor: vscode.TextEditor | undefined = vscode.window.activeTextEditor): Promise<boolean> {
  if (!editor) {
    void vscode.window.showWarningMessage('Switchboard: open a file to complete in.');
    return false;
  }
  if (vscode.window.activeTextEditor !== editor) {
    // From the chat view, say: the suggestion shows in the editor the user came from.
    await vscode.window.showTextDocument(editor.document, editor.viewColumn);
  }
  await vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
  return true;
}
