// Activation: starts the server, the status bar and the chat view, and registers the commands.
import * as vscode from 'vscode';
import { setApiKey, signIn, signOut } from './accounts';
import { ChatView } from './chatView';
import { completeHere, displayName } from './complete';
import { Connection } from './connection';
import { pickConversation, renameConversation } from './conversationPicker';
import { ConversationStore } from './conversations';
import { GhostText } from './ghostText';
import { inlineChat } from './inlineChat';
import { chooseModel, ModelDirectory } from './models';
import { Proposals } from './proposals';
import { rewriteSelection, RewriteReview } from './rewrite';
import { UsageStatus } from './statusBar';
import { EditorTracker, Operations } from './ui';
import { UsageDocument } from './usageView';

/** What activate() returns: the running pieces, for other extensions and the integration tests. */
export interface SwitchboardApi {
  connection: Connection;
  status: UsageStatus;
  chat: ChatView;
  conversations: ConversationStore;
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
  const proposals = new Proposals();
  const review = new RewriteReview(proposals);
  connection.applyEdit = (params, next) => review.handle(params, next);
  const conversations = new ConversationStore(context.workspaceState);
  const chat = new ChatView(context.extensionUri, connection, status, editors, operations, conversations, proposals);
  const models = new ModelDirectory(connection);
  const usage = new UsageDocument(connection);
  const ghostText = new GhostText(connection);
  context.subscriptions.push(connection, status, editors, operations, chat, proposals, review, usage, ghostText);

  const command = (id: string, run: (...args: any[]) => unknown): void => {
    context.subscriptions.push(vscode.commands.registerCommand(id, run));
  };
  const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

  command('switchboard.chat', async (question?: string) => {
    await chat.show();
    if (typeof question === 'string') {
      await chat.send(question);
    }
  });
  command('switchboard.newChat', async () => {
    chat.newChat();
    await chat.show();
  });
  command('switchboard.history', () => pickConversation(conversations, chat));
  command('switchboard.openConversation', (id?: string) => (text(id) ? chat.open(id as string) : pickConversation(conversations, chat)));
  command('switchboard.renameConversation', async (id?: string, title?: string) => {
    const conversation = conversations.get(text(id) ?? chat.conversation.id);
    return conversation ? renameConversation(chat, conversation, text(title)) : false;
  });
  command('switchboard.deleteConversation', (id?: string) => chat.delete(text(id) ?? chat.conversation.id));
  command('switchboard.attachFile', (uri?: vscode.Uri) => chat.attachFile(uri instanceof vscode.Uri ? uri : undefined));
  command('switchboard.askAboutSelection', async (questionArg?: string) => {
    const editor = editors.editor;
    if (!editor || editor.selection.isEmpty) {
      void vscode.window.showWarningMessage('Switchboard: select some code to ask about.');
      return;
    }
    const question =
      text(questionArg) ??
      (await vscode.window.showInputBox({
        title: `Switchboard: Ask about ${displayName(editor.document.uri)}`,
        prompt: 'Your question about the selected code',
      }));
    if (question) {
      await chat.askAboutSelection(question);
    }
  });
  command('switchboard.inlineChat', (instruction?: string) =>
    inlineChat(connection, review, status, operations, text(instruction)),
  );
  command('switchboard.explainSelection', () => rewriteSelection(connection, review, status, operations, 'explain'));
  command('switchboard.refactorSelection', () => rewriteSelection(connection, review, status, operations, 'simplify'));
  command('switchboard.completeHere', () => completeHere(vscode.window.activeTextEditor ?? editors.editor));
  command('switchboard.toggleInlineCompletions', () => ghostText.toggle());
  command('switchboard.acceptProposal', (uri?: vscode.Uri) => proposals.accept(uri instanceof vscode.Uri ? uri : undefined));
  command('switchboard.rejectProposal', (uri?: vscode.Uri) => proposals.reject(uri instanceof vscode.Uri ? uri : undefined));
  command('switchboard.stop', () => operations.stopAll());
  command('switchboard.chooseModel', (id?: string) => chooseModel(models, text(id)));
  command('switchboard.signIn', (provider?: string) => signIn(connection, text(provider)));
  command('switchboard.setApiKey', (provider?: string, key?: string) => setApiKey(connection, text(provider), text(key)));
  command('switchboard.signOut', (provider?: string) => signOut(connection, text(provider)));
  command('switchboard.showUsage', () => usage.show());
  command('switchboard.showServerLog', () => connection.output.show(true));
  command('switchboard.restartServer', () => connection.restart());

  void connection.ready();
  return { connection, status, chat, conversations, models, proposals, ghostText };
}

/** Stops the server (shutdown and exit) before VS Code lets the extension go. */
export function deactivate(): Promise<void> | undefined {
  return running?.stop();
}
