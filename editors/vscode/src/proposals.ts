// Proposed changes (a rewrite from the server, a code block applied to a file): shown as a diff
// against the file, applied only when the user accepts. A notification stays while one is open
// and closes once it is settled, whichever way.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { displayName } from './complete';

export const PROPOSAL_SCHEME = 'switchboard-proposal';

export interface Proposal {
  uri: vscode.Uri;
  document: vscode.TextDocument;
  version: number;
  range: vscode.Range;
  original: string;
  replacement: string;
  proposed: string;
  /** Resolves to whether the change was applied, once accepted or rejected. */
  settled: Promise<boolean>;
}

interface OpenProposal extends Proposal {
  apply: () => Promise<boolean>;
  settle: (applied: boolean) => void;
}

export class Proposals implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly byUri = new Map<string, OpenProposal>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly registration = vscode.workspace.registerTextDocumentContentProvider(PROPOSAL_SCHEME, this);
  private counter = 0;

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.byUri.get(uri.toString())?.proposed ?? '';
  }

  get open(): readonly Proposal[] {
    return Array.from(this.byUri.values());
  }

  /** The proposal shown in the active diff editor, or the latest one. */
  current(uri?: vscode.Uri): OpenProposal | undefined {
    if (uri && this.byUri.has(uri.toString())) {
      return this.byUri.get(uri.toString());
    }
    const active = vscode.window.activeTextEditor?.document.uri;
    if (active && this.byUri.has(active.toString())) {
      return this.byUri.get(active.toString());
    }
    return Array.from(this.byUri.values()).pop();
  }

  /**
   * Opens the diff of `replacement` for `range`. Accepting runs `apply` (by default a workspace
   * edit of the range, if its text is still found) and closes the diff.
   */
  async propose(
    document: vscode.TextDocument,
    range: vscode.Range,
    replacement: string,
    apply?: () => Promise<boolean>,
  ): Promise<Proposal> {
    this.counter += 1;
    const original = document.getText(range);
    const text = document.getText();
    const proposed =
      text.slice(0, document.offsetAt(range.start)) + replacement + text.slice(document.offsetAt(range.end));
    const name = path.basename(document.uri.path) || 'untitled';
    const uri = vscode.Uri.from({ scheme: PROPOSAL_SCHEME, path: `/${this.counter}/${name}` });
    let settle: (applied: boolean) => void = () => undefined;
    const settled = new Promise<boolean>((resolve) => {
      settle = resolve;
    });
    const proposal: OpenProposal = {
      uri,
      document,
      version: document.version,
      range,
      original,
      replacement,
      proposed,
      settled,
      settle,
      apply: () => Promise.resolve(false),
    };
    proposal.apply = apply ?? (() => this.replaceRange(proposal));
    this.byUri.set(uri.toString(), proposal);
    await vscode.commands.executeCommand('setContext', 'switchboard.proposalOpen', true);
    await vscode.commands.executeCommand('vscode.diff', document.uri, uri, `${displayName(document.uri)} ↔ Switchboard's proposal`, {
      preview: true,
    });
    void vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: `Switchboard proposes a change to ${displayName(document.uri)}`,
        cancellable: true,
      },
      (progress, token) => {
        progress.report({ message: 'Accept ✓ or Reject ✗ it in the diff editor (Cancel rejects it).' });
        token.onCancellationRequested(() => void this.reject(uri));
        return settled;
      },
    );
    return proposal;
  }

  async accept(uri?: vscode.Uri): Promise<boolean> {
    const proposal = this.current(uri);
    if (!proposal) {
      return false;
    }
    this.byUri.delete(proposal.uri.toString());
    let applied = false;
    try {
      applied = await proposal.apply();
    } finally {
      await this.close(proposal, applied);
    }
    if (applied) {
      await vscode.window.showTextDocument(proposal.document);
    }
    return applied;
  }

  async reject(uri?: vscode.Uri): Promise<void> {
    const proposal = this.current(uri);
    if (proposal) {
      this.byUri.delete(proposal.uri.toString());
      await this.close(proposal, false);
    }
  }

  /** The default apply: the range's replacement, if the original text is still where it was (or found once). */
  private async replaceRange(proposal: Proposal): Promise<boolean> {
    const { document } = proposal;
    let range = proposal.range;
    if (document.version !== proposal.version && document.getText(range) !== proposal.original) {
      const text = document.getText();
      const at = text.indexOf(proposal.original);
      if (at < 0 || text.indexOf(proposal.original, at + 1) >= 0) {
        void vscode.window.showErrorMessage('Switchboard: the code changed since the proposal; it was not applied.');
        return false;
      }
      range = new vscode.Range(document.positionAt(at), document.positionAt(at + proposal.original.length));
    }
    const edit = new vscode.WorkspaceEdit();
    edit.replace(document.uri, range, proposal.replacement);
    return vscode.workspace.applyEdit(edit);
  }

  private async close(proposal: OpenProposal, applied: boolean): Promise<void> {
    proposal.settle(applied);
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
    for (const proposal of this.byUri.values()) {
      proposal.settle(false);
    }
    this.byUri.clear();
    this.registration.dispose();
    this.changed.dispose();
  }
}
