// Show Usage: the session's totals per model as a read-only markdown document.
import * as vscode from 'vscode';
import type { Connection } from './connection';
import { usageReport } from './format';
import { Methods, type UsageResult } from './protocol';
import { showError } from './ui';

export const USAGE_URI = vscode.Uri.from({ scheme: 'switchboard', path: '/usage.md' });

export class UsageDocument implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private text = '';
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly registration = vscode.workspace.registerTextDocumentContentProvider('switchboard', this);

  constructor(private readonly connection: Connection) {}

  provideTextDocumentContent(): string {
    return this.text;
  }

  async show(): Promise<vscode.TextDocument | undefined> {
    try {
      const usage = await this.connection.request<UsageResult>(Methods.usage, {});
      this.text = usageReport(usage.session, usage.byModel);
    } catch (error) {
      showError(error);
      return undefined;
    }
    this.changed.fire(USAGE_URI);
    const document = await vscode.workspace.openTextDocument(USAGE_URI);
    await vscode.window.showTextDocument(document, { preview: true });
    return document;
  }

  dispose(): void {
    this.registration.dispose();
    this.changed.dispose();
  }
}
