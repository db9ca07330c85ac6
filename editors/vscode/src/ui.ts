// Small pieces of UI shared by the commands.
import * as vscode from 'vscode';
import { describeError, notificationText, type ErrorReport } from './errors';

/** Shows a failed request (its markdown as a notification draws it) with its helpful actions; a cancel is not an error. */
export function showError(error: unknown, prefix = 'Switchboard'): ErrorReport {
  const report = describeError(error);
  if (!report.cancelled) {
    void vscode.window
      .showErrorMessage(`${prefix}: ${notificationText(report.message)}`, ...report.actions.map((action) => action.title))
      .then((choice) => {
        const action = report.actions.find((candidate) => candidate.title === choice);
        if (action) {
          void vscode.commands.executeCommand(action.command, ...(action.args ?? []));
        }
      });
  }
  return report;
}

/** Remembers the last text editor, since focusing a webview leaves no active one. */
export class EditorTracker implements vscode.Disposable {
  private last: vscode.TextEditor | undefined = vscode.window.activeTextEditor;
  private readonly subscription = vscode.window.onDidChangeActiveTextEditor((editor) => {
    if (editor && editor.document.uri.scheme !== 'output') {
      this.last = editor;
    }
  });

  get editor(): vscode.TextEditor | undefined {
    const active = vscode.window.activeTextEditor;
    if (active) {
      return active;
    }
    if (this.last && vscode.window.visibleTextEditors.includes(this.last)) {
      return this.last;
    }
    return vscode.window.visibleTextEditors[0];
  }

  dispose(): void {
    this.subscription.dispose();
  }
}

/** A CancellationTokenSource that the Stop command can reach. */
export class Operations implements vscode.Disposable {
  private readonly running = new Set<vscode.CancellationTokenSource>();

  begin(): vscode.CancellationTokenSource {
    const source = new vscode.CancellationTokenSource();
    this.running.add(source);
    void vscode.commands.executeCommand('setContext', 'switchboard.streaming', true);
    return source;
  }

  end(source: vscode.CancellationTokenSource): void {
    this.running.delete(source);
    source.dispose();
    if (this.running.size === 0) {
      void vscode.commands.executeCommand('setContext', 'switchboard.streaming', false);
    }
  }

  stopAll(): void {
    for (const source of this.running) {
      source.cancel();
    }
  }

  dispose(): void {
    this.stopAll();
  }
}
