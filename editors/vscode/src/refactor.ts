// Refactor Selection: the model's rewrite is shown as a diff against the file, and applied only
// when the user accepts it.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { AnswerAccumulator } from './accumulator';
import { displayName } from './complete';
import type { Connection } from './connection';
import { extractCode, fitReplacement, REFACTOR_SYSTEM, refactorSelection, type CodeContext } from './prompts';
import type { UsageStatus } from './statusBar';
import { showError, type Operations } from './ui';

export const PROPOSAL_SCHEME = 'switchboard-proposal';

interface Proposal {
  uri: vscode.Uri;
  document: vscode.TextDocument;
  version: number;
  range: vscode.Range;
  original: string;
  replacement: string;
  proposed: string;
}

export class Proposals implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly byUri = new Map<string, Proposal>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly registration = vscode.workspace.registerTextDocumentContentProvider(PROPOSAL_SCHEME, this);
  private counter = 0;

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.byUri.get(uri.toString())?.proposed ?? '';
  }

  /** The latest proposal, or the one shown in the active diff editor. */
  current(uri?: vscode.Uri): Proposal | undefined {
    if (uri && this.byUri.has(uri.toString())) {
      return this.byUri.get(uri.toString());
    }
    const active = vscode.window.activeTextEditor?.document.uri;
    if (active && this.byUri.has(active.toString())) {
      return this.byUri.get(active.toString());
    }
    return Array.from(this.byUri.values()).pop();
  }

  async open(document: vscode.TextDocument, range: vscode.Range, replacement: string): Promise<Proposal> {
    this.counter += 1;
    const original = document.getText(range);
    const text = document.getText();
    const proposed =
      text.slice(0, document.offsetAt(range.start)) + replacement + text.slice(document.offsetAt(range.end));
    const name = path.basename(document.uri.path) || 'untitled';
    const uri = vscode.Uri.from({ scheme: PROPOSAL_SCHEME, path: `/${this.counter}/${name}` });
    const proposal: Proposal = { uri, document, version: document.version, range, original, replacement, proposed };
    this.byUri.set(uri.toString(), proposal);
    await vscode.commands.executeCommand('setContext', 'switchboard.proposalOpen', true);
    await vscode.commands.executeCommand(
      'vscode.diff',
      document.uri,
      uri,
      `${displayName(document.uri)} ↔ Switchboard's proposal`,
      { preview: true },
    );
    return proposal;
  }

  async accept(uri?: vscode.Uri): Promise<boolean> {
    const proposal = this.current(uri);
    if (!proposal) {
      return false;
    }
    const { document } = proposal;
    let range = proposal.range;
    if (document.version !== proposal.version) {
      // The file changed since: apply only if the original text is still where it was, or once.
      const text = document.getText();
      const at = text.indexOf(proposal.original);
      if (document.getText(range) !== proposal.original && (at < 0 || text.indexOf(proposal.original, at + 1) >= 0)) {
        void vscode.window.showErrorMessage('Switchboard: the code changed since the proposal; it was not applied.');
        return false;
      }
      if (document.getText(range) !== proposal.original) {
        range = new vscode.Range(document.positionAt(at), document.positionAt(at + proposal.original.length));
      }
    }
    const edit = new vscode.WorkspaceEdit();
    edit.replace(document.uri, range, proposal.replacement);
    const applied = await vscode.workspace.applyEdit(edit);
    await this.close(proposal);
    if (applied) {
      await vscode.window.showTextDocument(document);
    }
    return applied;
  }

  async reject(uri?: vscode.Uri): Promise<void> {
    const proposal = this.current(uri);
    if (proposal) {
      await this.close(proposal);
    }
  }

  private async close(proposal: Proposal): Promise<void> {
    this.byUri.delete(proposal.uri.toString());
    const tabs = vscode.window.tabGroups.all.flatMap((group) => group.tabs);
    for (const tab of tabs) {
      const input = tab.input;
      if (input instanceof vscode.TabInputTextDiff && input.modified.toString() === proposal.uri.toString()) {
        await vscode.window.tabGroups.close(tab);
      }
    }
    await vscode.commands.executeCommand('setContext', 'switchboard.proposalOpen', this.byUri.size > 0);
  }

  dispose(): void {
    this.registration.dispose();
    this.changed.dispose();
  }
}

export function codeContext(editor: vscode.TextEditor): CodeContext | undefined {
  const selection = editor.selection;
  if (selection.isEmpty) {
    return undefined;
  }
  return {
    fileName: displayName(editor.document.uri),
    languageId: editor.document.languageId,
    code: editor.document.getText(selection),
    startLine: selection.start.line + 1,
    endLine: selection.end.line + (selection.end.character === 0 && selection.end.line > selection.start.line ? 0 : 1),
  };
}

/** Asks for the rewrite, then shows it as a diff with Accept / Reject (Refactor and Explain). */
export async function refactor(
  connection: Connection,
  proposals: Proposals,
  status: UsageStatus,
  operations: Operations,
  instructionArg?: string,
  verb: 'refactor' | 'explain' = 'refactor',
): Promise<boolean> {
  const editor = vscode.window.activeTextEditor;
  const context = editor && codeContext(editor);
  if (!editor || !context) {
    void vscode.window.showWarningMessage(`Switchboard: select the code to ${verb} first.`);
    return false;
  }
  const instruction =
    instructionArg ??
    (await vscode.window.showInputBox({
      title: 'Switchboard: Refactor Selection',
      prompt: 'How should the code change?',
      value: 'Make it clearer and simpler, keeping its behaviour.',
    }));
  if (!instruction) {
    return false;
  }
  const range = new vscode.Range(editor.selection.start, editor.selection.end);
  const document = editor.document;
  const model = vscode.workspace.getConfiguration('switchboard').get<string>('defaultModel') || undefined;
  const source = operations.begin();
  const progress = status.beginStream();
  const answer = new AnswerAccumulator();
  try {
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Switchboard: ${verb}ing…`, cancellable: true },
      async (_progress, token) => {
        token.onCancellationRequested(() => source.cancel());
        const result = await connection.chat(
          { model, system: REFACTOR_SYSTEM, messages: refactorSelection(context, instruction) },
          (value) => {
            answer.apply(value.events);
            progress.update(answer.outputChars);
          },
          source.token,
        );
        answer.finish(result);
      },
    );
  } catch (error) {
    if (!source.token.isCancellationRequested) {
      showError(error);
    }
    return false;
  } finally {
    progress.end();
    operations.end(source);
  }
  const replacement = extractCode(answer.text);
  if (!replacement.trim()) {
    void vscode.window.showWarningMessage('Switchboard: the model proposed no code.');
    return false;
  }
  const proposal = await proposals.open(document, range, fitReplacement(document.getText(range), replacement));
  void vscode.window
    .showInformationMessage(`Switchboard proposes a change to ${displayName(document.uri)}.`, 'Accept', 'Reject')
    .then((choice) => {
      if (choice === 'Accept') {
        void proposals.accept(proposal.uri);
      } else if (choice === 'Reject') {
        void proposals.reject(proposal.uri);
      }
    });
  return true;
}
