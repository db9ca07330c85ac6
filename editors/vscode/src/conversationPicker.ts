// Saved Conversations…: a quick pick of the workspace's saved chats; Enter reopens one, the
// buttons on a row rename or delete it.
import * as vscode from 'vscode';
import type { ChatView } from './chatView';
import type { Conversation, ConversationStore } from './conversations';

interface ConversationItem extends vscode.QuickPickItem {
  conversation: Conversation;
}

const RENAME: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('edit'), tooltip: 'Rename' };
const DELETE: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('trash'), tooltip: 'Delete' };

function items(store: ConversationStore, currentId: string): ConversationItem[] {
  return store.list().map((conversation) => {
    const questions = conversation.turns.filter((turn) => turn.role === 'user').length;
    return {
      label: `${conversation.id === currentId ? '$(comment-discussion) ' : ''}${conversation.title}`,
      description: new Date(conversation.updated).toLocaleString(),
      detail: `${questions} question${questions === 1 ? '' : 's'}`,
      buttons: [RENAME, DELETE],
      conversation,
    };
  });
}

/** Resolves to the id of the conversation reopened, if any. */
export async function pickConversation(store: ConversationStore, chat: ChatView): Promise<string | undefined> {
  if (store.list().length === 0) {
    void vscode.window.showInformationMessage('Switchboard: no saved conversations in this workspace yet.');
    return undefined;
  }
  const pick = vscode.window.createQuickPick<ConversationItem>();
  pick.title = 'Switchboard: Saved Conversations';
  pick.placeholder = 'Reopen a conversation (the buttons rename or delete it)';
  pick.matchOnDetail = true;
  pick.items = items(store, chat.conversation.id);
  return new Promise<string | undefined>((resolve) => {
    let chosen: string | undefined;
    pick.onDidTriggerItemButton(async ({ button, item }) => {
      if (button === DELETE) {
        await chat.delete(item.conversation.id);
      } else if (button === RENAME) {
        pick.hide();
        await renameConversation(chat, item.conversation);
        return;
      }
      pick.items = items(store, chat.conversation.id);
      if (pick.items.length === 0) {
        pick.hide();
      }
    });
    pick.onDidAccept(async () => {
      const item = pick.selectedItems[0];
      pick.hide();
      if (item && (await chat.open(item.conversation.id))) {
        chosen = item.conversation.id;
      }
      resolve(chosen);
    });
    pick.onDidHide(() => {
      pick.dispose();
      resolve(chosen);
    });
    pick.show();
  });
}

export async function renameConversation(chat: ChatView, conversation: Conversation, title?: string): Promise<boolean> {
  const next =
    title ??
    (await vscode.window.showInputBox({
      title: 'Switchboard: Rename Conversation',
      value: conversation.title,
      validateInput: (value) => (value.trim() ? undefined : 'Give it a name'),
    }));
  return next ? chat.rename(conversation.id, next) : false;
}
