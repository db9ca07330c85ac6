// Activation: starts the server, the status bar and the chat view, and registers the commands.
import * as vscode from 'vscode';
import { setApiKey, signIn, signOut } from './accounts';
import { ChatController } from './chatPanel';
import { completeHere, displayName } from './complete';
import { Connection } from './connection';
import { GhostText } from './ghostText';
import { chooseModel, ModelDirectory } from './models';
import { askAboutSelection, EXPLAIN_INSTRUCTION } from './prompts';
import { codeContext, Proposals, refactor } from './refactor';
import { UsageStatus } from './statusBar';
import { EditorTracker, Operations } from './ui';
import { UsageDocument } from './usageView';

/** What activate() returns: the running pieces, for other extensions and the integration tests. */
export interface SwitchboardApi {
  connection: Connection;
  status: UsageStatus;
  chat: ChatController;
  models: ModelDirectory;
  proposals: Proposals;
  ghostText: GhostText;
}

let running: Connection | undefined;

export function activate(context: vscode.ExtensionContext): SwitchboardApi {
  const connection = new Connection(context.extensionUri);
  running = connection;
  const status = new UsageStatus(connection);
  const editors = new EditorTracker();
  const operations = new Operations();
  const chat = new ChatController(context.extensionUri, connection, status, editors, operations);
  const models = new ModelDirectory(connection);
  const proposals = new Proposals();
  const usage = new UsageDocument(connection);
  const ghostText = new GhostText(connection);
  context.subscriptions.push(connection, status, editors, operations, chat, proposals, usage, ghostText);

  const command = (id: string, run: (...args: any[]) => unknown): void => {
    context.subscriptions.push(vscode.commands.registerCommand(id, run));
  };

  command('switchboard.chat', async (question?: string) => {
    chat.show();
    if (typeof question === 'string') {
      await chat.send(question);
    }
  });
  command('switchboard.newChat', () => {
    chat.show();
    chat.newChat();
  });
  command('switchboard.askAboutSelection', async (questionArg?: string) => {
    const editor = editors.editor;
    const selected = editor && codeContext(editor);
    if (!selected) {
      void vscode.window.showWarningMessage('Switchboard: select some code to ask about.');
      return;
    }
    const question =
      typeof questionArg === 'string'
        ? questionArg
        : await vscode.window.showInputBox({
            title: `Switchboard: Ask about ${displayName(editor.document.uri)}`,
            prompt: 'Your question about the selected code',
          });
    if (question) {
      await chat.send(askAboutSelection(selected, question));
    }
  });
  command('switchboard.explainSelection', () =>
    refactor(connection, proposals, status, operations, EXPLAIN_INSTRUCTION, 'explain'),
  );
  command('switchboard.completeHere', () => completeHere(vscode.window.activeTextEditor ?? editors.editor));
  command('switchboard.toggleInlineCompletions', () => ghostText.toggle());
  command('switchboard.refactorSelection', (instruction?: string) =>
    refactor(connection, proposals, status, operations, typeof instruction === 'string' ? instruction : undefined),
  );
  command('switchboard.acceptProposal', (uri?: vscode.Uri) => proposals.accept(uri instanceof vscode.Uri ? uri : undefined));
  command('switchboard.rejectProposal', (uri?: vscode.Uri) => proposals.reject(uri instanceof vscode.Uri ? uri : undefined));
  command('switchboard.stop', () => operations.stopAll());
  command('switchboard.chooseModel', (id?: string) => chooseModel(models, typeof id === 'string' ? id : undefined));
  command('switchboard.signIn', (provider?: string) => signIn(connection, typeof provider === 'string' ? provider : undefined));
  command('switchboard.setApiKey', (provider?: string, key?: string) =>
    setApiKey(connection, typeof provider === 'string' ? provider : undefined, typeof key === 'string' ? key : undefined),
  );
  command('switchboard.signOut', (provider?: string) => signOut(connection, typeof provider === 'string' ? provider : undefined));
  command('switchboard.showUsage', () => usage.show());
  command('switchboard.showServerLog', () => connection.output.show(true));
  command('switchboard.restartServer', () => connection.restart());

  void connection.ready();
  return { connection, status, chat, models, proposals, ghostText };
}

/** Stops the server (shutdown and exit) before VS Code lets the extension go. */
export function deactivate(): Promise<void> | undefined {
  return running?.stop();
}
