// Complete Here: streams a completion into the editor at the cursor as it arrives.
// Escape (or Stop in the progress notification) cancels and keeps what arrived.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { AnswerAccumulator } from './accumulator';
import type { Connection } from './connection';
import type { ModelDirectory } from './models';
import { COMPLETION_SYSTEM, completionContext, completionMessages } from './prompts';
import type { UsageStatus } from './statusBar';
import { FenceFilter, positionAfter, StreamInserter } from './streamInsert';
import { showError, type Operations } from './ui';

export interface CompletionOutcome {
  inserted: string;
  cancelled: boolean;
  error?: string;
}

export function displayName(uri: vscode.Uri): string {
  return vscode.workspace.asRelativePath(uri, false) || path.basename(uri.fsPath);
}

export async function completeHere(
  connection: Connection,
  models: ModelDirectory,
  status: UsageStatus,
  operations: Operations,
  editor: vscode.TextEditor | undefined = vscode.window.activeTextEditor,
): Promise<CompletionOutcome | undefined> {
  if (!editor) {
    void vscode.window.showWarningMessage('Switchboard: open a file to complete in.');
    return undefined;
  }
  const document = editor.document;
  const start = editor.selection.active;
  const context = completionContext(
    document.getText(),
    document.offsetAt(start),
    displayName(document.uri),
    document.languageId,
  );
  const filter = new FenceFilter();
  let first = true;
  let streamed = 0;
  const inserter = new StreamInserter<vscode.Position>(
    {
      insert: async (at, text) => {
        const ok = await editor.edit((builder) => builder.insert(at, text), {
          undoStopBefore: first,
          undoStopAfter: false,
        });
        first = false;
        if (!ok) {
          return undefined;
        }
        const end = positionAfter(at, text);
        const position = new vscode.Position(end.line, end.character);
        editor.selection = new vscode.Selection(position, position);
        return position;
      },
    },
    start,
  );
  const source = operations.begin();
  await vscode.commands.executeCommand('setContext', 'switchboard.completing', true);
  const progress = status.beginStream();
  const answer = new AnswerAccumulator();
  const stopOnEdit = vscode.window.onDidChangeTextEditorSelection((event) => {
    // The user moved away (a click elsewhere): stop, keeping what arrived.
    if (event.textEditor === editor && event.kind === vscode.TextEditorSelectionChangeKind.Mouse) {
      source.cancel();
    }
  });
  let outcome: CompletionOutcome;
  try {
    outcome = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Switchboard: completing…', cancellable: true },
      async (_progress, token) => {
        token.onCancellationRequested(() => source.cancel());
        try {
          const result = await connection.chat(
            {
              model: await models.fastModel(),
              system: COMPLETION_SYSTEM,
              messages: completionMessages(context),
            },
            (value) => {
              for (const event of value.events) {
                if (event.type === 'text') {
                  streamed += event.text.length;
                  inserter.push(filter.push(event.text));
                }
              }
              answer.apply(value.events);
              progress.update(answer.outputChars);
            },
            source.token,
          );
          answer.finish(result);
          // A server that sent no partial results (or fewer than the whole) still gets its text in.
          inserter.push(filter.push(answer.text.slice(streamed)));
          inserter.push(filter.flush());
          await inserter.settled();
          return { inserted: inserter.inserted, cancelled: false };
        } catch (error) {
          await inserter.settled();
          if (source.token.isCancellationRequested) {
            return { inserted: inserter.inserted, cancelled: true };
          }
          const report = showError(error);
          return { inserted: inserter.inserted, cancelled: report.cancelled, error: report.message };
        }
      },
    );
  } finally {
    stopOnEdit.dispose();
    progress.end();
    operations.end(source);
    await vscode.commands.executeCommand('setContext', 'switchboard.completing', false);
  }
  if (!inserter.ok) {
    void vscode.window.showWarningMessage('Switchboard: the document changed; the completion stopped there.');
  }
  return outcome;
}

