// Ghost text in the editor: registers the inline completion provider for the documents the
// server has open, and keeps the toggle setting and its status bar item in step.
import * as vscode from 'vscode';
import { SYNCED_DOCUMENTS, type Connection } from './connection';
import { InlineCompletionProvider, type InlineAnswer } from './inlineCompletion';
import { inlineStatusView, TOGGLE_COMMAND, toggleTarget } from './inlineStatus';

const SECTION = 'switchboard';
const ENABLED = 'inlineCompletions.enabled';

export class GhostText implements vscode.Disposable {
  readonly provider: InlineCompletionProvider;
  readonly item: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly connection: Connection) {
    this.provider = new InlineCompletionProvider(
      connection,
      () => this.enabled,
      () => this.render(),
      (answer) => this.onAnswer(answer),
    );
    this.item = vscode.window.createStatusBarItem('switchboard.inlineCompletions', vscode.StatusBarAlignment.Right, 99);
    this.item.name = 'Switchboard Ghost Text';
    this.item.command = TOGGLE_COMMAND;
    this.disposables.push(
      this.item,
      vscode.languages.registerInlineCompletionItemProvider(SYNCED_DOCUMENTS, this.provider),
      connection.onStateChanged(() => this.render()),
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration(`${SECTION}.${ENABLED}`)) {
          this.render();
        }
      }),
    );
    this.render();
    this.item.show();
  }

  get enabled(): boolean {
    return vscode.workspace.getConfiguration(SECTION).get<boolean>(ENABLED, true) !== false;
  }

  get text(): string {
    return this.item.text;
  }

  /** Turns ghost text as you type on or off (the setting); resolves to the new state. */
  async toggle(): Promise<boolean> {
    const config = vscode.workspace.getConfiguration(SECTION);
    const next = !this.enabled;
    const target =
      toggleTarget(config.inspect(ENABLED)) === 'workspace'
        ? vscode.ConfigurationTarget.Workspace
        : vscode.ConfigurationTarget.Global;
    await config.update(ENABLED, next, target);
    this.render();
    return next;
  }

  private onAnswer(answer: InlineAnswer): void {
    if (answer.explicit && answer.texts.length === 0) {
      vscode.window.setStatusBarMessage('Switchboard: no suggestion here (Show Server Log says why, if it failed)', 5000);
    }
  }

  private render(): void {
    const view = inlineStatusView({ enabled: this.enabled, busy: this.provider.busy, server: this.connection.state });
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
  }

  dispose(): void {
    for (const disposable of this.disposables) {
      disposable.dispose();
    }
  }
}
