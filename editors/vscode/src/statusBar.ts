// The status bar item: session tokens and dollars, a spinner while an answer streams, and a
// tooltip with the totals per model and the last request. Clicking it opens the model picker.
import * as vscode from 'vscode';
import type { Connection, ConnectionState } from './connection';
import { EMPTY_TOTALS, statusText, streamingStatusText, usageTooltip } from './format';
import { Methods, type LastRequest, type ModelTotals, type Totals, type UsageChanged, type UsageResult } from './protocol';

export class UsageStatus implements vscode.Disposable {
  readonly item: vscode.StatusBarItem;
  private session: Totals = EMPTY_TOTALS;
  private byModel: ModelTotals[] = [];
  private last: LastRequest | undefined;
  private readonly streams = new Map<number, number>();
  private nextStream = 0;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly connection: Connection) {
    this.item = vscode.window.createStatusBarItem('switchboard.usage', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'Switchboard';
    this.item.command = 'switchboard.chooseModel';
    this.disposables.push(
      this.item,
      connection.onUsageChanged((changed) => void this.onUsage(changed)),
      connection.onStateChanged((state) => this.onState(state)),
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration('switchboard.defaultModel')) {
          this.render();
        }
      }),
    );
    this.render();
    this.item.show();
  }

  get text(): string {
    return this.item.text;
  }

  /** Shows progress for one streaming answer; call the returned function with its growing size. */
  beginStream(): { update(outputChars: number): void; end(): void } {
    const id = this.nextStream++;
    this.streams.set(id, 0);
    this.render();
    return {
      update: (outputChars) => {
        if (this.streams.has(id)) {
          this.streams.set(id, outputChars);
          this.render();
        }
      },
      end: () => {
        this.streams.delete(id);
        this.render();
      },
    };
  }

  private async onUsage(changed: UsageChanged): Promise<void> {
    this.session = changed.session;
    this.last = changed.last;
    this.mergeLast(changed.last);
    this.render();
    try {
      const usage = await this.connection.request<UsageResult>(Methods.usage, {});
      this.session = usage.session;
      this.byModel = usage.byModel;
      this.render();
    } catch {
      // The notification's totals stand; the per-model rows wait for the next one.
    }
  }

  /** Keeps the per-model rows right even before switchboard/usage answers. */
  private mergeLast(last: LastRequest): void {
    const row = this.byModel.find((totals) => totals.model === last.model);
    const target = row ?? { ...EMPTY_TOTALS, model: last.model };
    target.requests += 1;
    target.inputTokens += last.usage.inputTokens;
    target.outputTokens += last.usage.outputTokens;
    target.cacheReadInputTokens += last.usage.cacheReadInputTokens ?? 0;
    target.cacheCreationInputTokens += last.usage.cacheCreationInputTokens ?? 0;
    if (last.cost) {
      target.costUsd += last.cost.totalUsd;
    } else {
      target.unpricedRequests = (target.unpricedRequests ?? 0) + 1;
    }
    if (!row) {
      this.byModel = [...this.byModel, target].sort((a, b) => a.model.localeCompare(b.model));
    }
  }

  private onState(state: ConnectionState): void {
    this.render(state);
  }

  private render(state: ConnectionState = this.connection.state): void {
    if (state === 'notFound' || state === 'failed') {
      this.item.text = '$(warning) Switchboard';
      this.item.tooltip = this.connection.lastStartError ?? 'The Switchboard server is not running.';
      this.item.command = 'switchboard.restartServer';
      this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
      return;
    }
    this.item.backgroundColor = undefined;
    this.item.command = 'switchboard.chooseModel';
    if (this.streams.size > 0) {
      const chars = Array.from(this.streams.values()).reduce((sum, value) => sum + value, 0);
      this.item.text = streamingStatusText(chars);
    } else {
      this.item.text = statusText(this.session);
    }
    const model = vscode.workspace.getConfiguration('switchboard').get<string>('defaultModel') || undefined;
    const tooltip = new vscode.MarkdownString(usageTooltip(this.session, this.byModel, this.last, model));
    tooltip.supportThemeIcons = true;
    this.item.tooltip = tooltip;
  }

  dispose(): void {
    for (const disposable of this.disposables) {
      disposable.dispose();
    }
  }
}
