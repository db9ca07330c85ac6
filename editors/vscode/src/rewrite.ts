// Explain Selection, Refactor Selection and inline chat run the server's `switchboard.rewrite`
// command, so the prompts and the code extraction live only in the server. The server answers with a
// workspace/applyEdit; this side shows that edit as a diff (proposals.ts) and tells the server
// whether the user accepted it.
import * as vscode from 'vscode';
import type { ApplyWorkspaceEditParams, ApplyWorkspaceEditResult } from 'vscode-languageclient/node';
import type { Connection } from './connection';
import type { Proposal, Proposals } from './proposals';
import type { UsageStatus } from './statusBar';
import { showError, type Operations } from './ui';

export const REWRITE_COMMAND = 'switchboard.rewrite';
export type RewriteAction = 'explain' | 'simplify' | 'fix' | 'edit';

/** What `switchboard.rewrite` answers. */
export interface RewriteResult {
  applied: boolean;
  reason?: string;
  model?: string;
}

const VERBS: Record<RewriteAction, string> = { explain: 'explaining', simplify: 'refactoring', fix: 'fixing', edit: 'editing' };

/** The one text edit of a server edit, when it is a single replacement in one open document. */
export function singleEdit(
  params: ApplyWorkspaceEditParams,
): { uri: string; version: number | null; range: { start: Position; end: Position }; newText: string } | undefined {
  const edit = params.edit;
  if (edit.documentChanges) {
    if (edit.documentChanges.length !== 1) {
      return undefined;
    }
    const change = edit.documentChanges[0];
    if (!('textDocument' in change) || change.edits.length !== 1) {
      return undefined;
    }
    const only = change.edits[0];
    if (!('newText' in only)) {
      return undefined;
    }
    return { uri: change.textDocument.uri, version: change.textDocument.version, range: only.range, newText: only.newText };
  }
  const entries = Object.entries(edit.changes ?? {});
  if (entries.length !== 1 || entries[0][1].length !== 1) {
    return undefined;
  }
  const [uri, [only]] = entries[0];
  return { uri, version: null, range: only.range, newText: only.newText };
}

interface Position {
  line: number;
  character: number;
}

/**
 * Stands between the server's workspace/applyEdit and the editor: the server's rewrites become
 * proposals; the edit is applied (by the language client, which checks the version) on Accept.
 */
export class RewriteReview {
  private readonly proposed = new vscode.EventEmitter<Proposal>();
  /** Fires when a server edit opens as a proposal. */
  readonly onProposed = this.proposed.event;

  constructor(private readonly proposals: Proposals) {}

  async handle(
    params: ApplyWorkspaceEditParams,
    next: (params: ApplyWorkspaceEditParams) => Promise<ApplyWorkspaceEditResult>,
  ): Promise<ApplyWorkspaceEditResult> {
    const edit = singleEdit(params);
    const label = params.label ?? '';
    if (!edit || !label.startsWith('Switchboard')) {
      return next(params);
    }
    const uri = vscode.Uri.parse(edit.uri);
    const document = vscode.workspace.textDocuments.find((doc) => doc.uri.toString() === uri.toString());
    if (!document) {
      return next(params);
    }
    const range = new vscode.Range(
      edit.range.start.line,
      edit.range.start.character,
      edit.range.end.line,
      edit.range.end.character,
    );
    const proposal = await this.proposals.propose(document, range, edit.newText, async () => (await next(params)).applied);
    this.proposed.fire(proposal);
    const applied = await proposal.settled;
    return applied ? { applied: true } : { applied: false, failureReason: 'the proposal was rejected' };
  }

  dispose(): void {
    this.proposed.dispose();
  }
}

/**
 * Runs `switchboard.rewrite` on the selection. Resolves to true once the server's proposal is on
 * screen (the command itself ends when the user settles it), false when there is none.
 */
export async function rewriteSelection(
  connection: Connection,
  review: RewriteReview,
  status: UsageStatus,
  operations: Operations,
  action: RewriteAction,
  instruction?: string,
): Promise<boolean> {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.selection.isEmpty) {
    const verb = action === 'explain' ? 'explain' : action === 'edit' ? 'change' : 'refactor';
    void vscode.window.showWarningMessage(`Switchboard: select the code to ${verb} first.`);
    return false;
  }
  const { document, selection } = editor;
  const problems = vscode.languages
    .getDiagnostics(document.uri)
    .filter((diagnostic) => diagnostic.range.intersection(selection) !== undefined)
    .map((diagnostic) => diagnostic.message);
  const chosen: RewriteAction = action === 'simplify' && problems.length > 0 ? 'fix' : action;
  const argument = {
    uri: document.uri.toString(),
    range: {
      start: { line: selection.start.line, character: selection.start.character },
      end: { line: selection.end.line, character: selection.end.character },
    },
    version: document.version,
    action: chosen,
    ...(chosen === 'fix' ? { problems } : {}),
    ...(chosen === 'edit' ? { instruction } : {}),
  };
  const source = operations.begin();
  const progress = status.beginStream();
  let proposed: Proposal | undefined;
  const listener = review.onProposed((proposal) => {
    if (proposal.document === document) {
      proposed = proposal;
    }
  });
  try {
    const request = connection.request<RewriteResult>(
      'workspace/executeCommand',
      { command: REWRITE_COMMAND, arguments: [argument] },
      source.token,
    );
    const shown = new Promise<void>((resolve) => {
      const waiting = review.onProposed((proposal) => {
        if (proposal.document === document) {
          waiting.dispose();
          resolve();
        }
      });
      void request.then(
        () => waiting.dispose(),
        () => waiting.dispose(),
      ).then(resolve);
    });
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Switchboard: ${VERBS[chosen]}…`, cancellable: true },
      async (_progress, token) => {
        token.onCancellationRequested(() => source.cancel());
        await Promise.race([shown, request.then(() => undefined)]);
      },
    );
    if (proposed) {
      // The request ends when the user settles the proposal; its errors are the server's to say.
      void request.catch(() => undefined);
      return true;
    }
    // No proposal: the server says why in a message of its own (window/showMessage).
    return (await request).applied;
  } catch (error) {
    if (!source.token.isCancellationRequested) {
      showError(error);
    }
    return false;
  } finally {
    listener.dispose();
    progress.end();
    operations.end(source);
  }
}
