// The chat: a webview view in Switchboard's own view container (the activity bar; it can be
// dragged to the secondary side bar). Answers stream in as they arrive; conversations are saved in
// the workspace's storage; the active file or selection and #file picks go with a question, and the
// composer shows what the next request will cost before it is sent.
import { randomBytes, randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import { AnswerAccumulator } from './accumulator';
import { historyMessages, messageView, restoredTurn, savedTurn, type AssistantTurn, type Turn } from './chatModel';
import { displayName } from './complete';
import type { Connection } from './connection';
import { activeAttachments, chipLabel, withContext, type Attachment, type ContextState } from './context';
import { titleFor, type Conversation, type ConversationStore } from './conversations';
import { draftSummary } from './format';
import { Methods, type CountTokensResult } from './protocol';
import type { Proposals } from './proposals';
import type { UsageStatus } from './statusBar';
import { showError, type EditorTracker, type Operations } from './ui';

export const CHAT_VIEW = 'switchboard.chatView';

type FromWebview =
  | { type: 'ready' }
  | { type: 'send'; text: string }
  | { type: 'stop' }
  | { type: 'newChat' }
  | { type: 'chooseModel' }
  | { type: 'history' }
  | { type: 'copy'; text: string }
  | { type: 'insert'; text: string }
  | { type: 'apply'; text: string }
  | { type: 'toggleEditor' }
  | { type: 'removeFile'; key: string }
  | { type: 'pickFile' }
  | { type: 'draft'; text: string };

const RENDER_INTERVAL_MS = 40;
const COUNT_DELAY_MS = 400;
const FILE_EXCLUDES = '**/{node_modules,.git,out,dist,.venv,venv,__pycache__}/**';

export interface ContextChip {
  key: string;
  label: string;
  kind: 'editor' | 'file';
  on: boolean;
  title: string;
}

export class ChatView implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private webviewReady = false;
  turns: Turn[] = [];
  conversation: Conversation = newConversation();
  readonly context: ContextState = { editor: undefined, editorOn: true, files: [] };
  /** The composer's last count of the next request (the tests read it). */
  lastCount: { draft: string; result: CountTokensResult; summary: string } | undefined;
  private draft = '';
  private countTimer: NodeJS.Timeout | undefined;
  private countSeq = 0;
  private current: { source: vscode.CancellationTokenSource; done: Promise<void> } | undefined;
  private dirty = new Set<number>();
  private renderTimer: NodeJS.Timeout | undefined;
  private readyWaiters: (() => void)[] = [];
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly connection: Connection,
    private readonly status: UsageStatus,
    private readonly editors: EditorTracker,
    private readonly operations: Operations,
    private readonly store: ConversationStore,
    private readonly proposals: Proposals,
  ) {
    this.disposables.push(
      vscode.window.registerWebviewViewProvider(CHAT_VIEW, this, { webviewOptions: { retainContextWhenHidden: true } }),
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration('switchboard.defaultModel')) {
          this.postModel();
          this.scheduleCount();
        }
      }),
      vscode.window.onDidChangeActiveTextEditor(() => this.refreshEditorContext()),
      vscode.window.onDidChangeTextEditorSelection((event) => {
        if (event.textEditor === this.editors.editor) {
          this.refreshEditorContext();
        }
      }),
    );
    this.refreshEditorContext();
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    const media = vscode.Uri.joinPath(this.extensionUri, 'media');
    view.webview.options = { enableScripts: true, localResourceRoots: [media] };
    view.webview.html = this.html(view.webview, media);
    this.webviewReady = false;
    this.view = view;
    view.webview.onDidReceiveMessage((message: FromWebview) => this.onMessage(message), null, this.disposables);
    view.onDidChangeVisibility(() => this.scheduleCount(), null, this.disposables);
    view.onDidDispose(
      () => {
        if (this.view === view) {
          this.view = undefined;
          this.webviewReady = false;
        }
      },
      null,
      this.disposables,
    );
    this.postModel();
  }

  get busy(): boolean {
    return this.current !== undefined;
  }

  get visible(): boolean {
    return this.view?.visible ?? false;
  }

  /** The answer being written, or the last one. */
  get lastAnswer(): AssistantTurn | undefined {
    for (let i = this.turns.length - 1; i >= 0; i--) {
      const turn = this.turns[i];
      if (turn.role === 'assistant') {
        return turn;
      }
    }
    return undefined;
  }

  /** Opens the view (and moves the focus to its input unless `preserveFocus`); resolves once it draws. */
  async show(preserveFocus = false): Promise<void> {
    if (this.view && preserveFocus) {
      this.view.show(true);
    } else {
      await vscode.commands.executeCommand(`${CHAT_VIEW}.focus`);
      this.post({ type: 'focus' });
    }
    if (!this.webviewReady) {
      // A hidden side bar draws nothing: then the answer still streams, and shows when the view opens.
      await new Promise<void>((resolve) => {
        this.readyWaiters.push(resolve);
        setTimeout(resolve, 10000);
      });
    }
  }

  /** Sends a question with the attached context and streams its answer; resolves when it is complete or stopped. */
  async send(text: string, attachments: Attachment[] = activeAttachments(this.context)): Promise<void> {
    const question = text.trim();
    if (!question) {
      return;
    }
    await this.show(true);
    if (this.current) {
      this.stop();
      await this.current?.done;
    }
    this.turns.push({
      role: 'user',
      text: question,
      content: withContext(question, attachments),
      context: attachments.map(chipLabel),
    });
    const turn: AssistantTurn = { role: 'assistant', answer: new AnswerAccumulator(), streaming: true, cancelled: false };
    this.turns.push(turn);
    if (this.turns.length === 2) {
      this.conversation.title = titleFor(question);
    }
    this.context.files = [];
    this.draft = '';
    this.lastCount = undefined;
    this.post({ type: 'reset', ...this.state() });
    const source = this.operations.begin();
    const done = this.stream(turn, source);
    this.current = { source, done };
    this.post({ type: 'busy', busy: true });
    try {
      await done;
    } finally {
      this.operations.end(source);
      this.current = undefined;
      this.post({ type: 'busy', busy: false });
      await this.save();
    }
  }

  /** A question about the editor's selection (Ask About Selection): the selection goes with it. */
  async askAboutSelection(question: string): Promise<void> {
    const selection = this.editorAttachment();
    await this.send(question, selection?.kind === 'selection' ? [selection] : activeAttachments(this.context));
  }

  private async stream(turn: AssistantTurn, source: vscode.CancellationTokenSource): Promise<void> {
    const index = this.turns.indexOf(turn);
    const progress = this.status.beginStream();
    try {
      const result = await this.connection.chat(
        { model: configuredModel(), messages: historyMessages(this.turns.slice(0, index)) },
        (value) => {
          turn.answer.apply(value.events);
          progress.update(turn.answer.outputChars);
          this.markDirty(index);
        },
        source.token,
      );
      turn.answer.finish(result);
    } catch (error) {
      if (source.token.isCancellationRequested) {
        turn.cancelled = true;
      } else {
        const report = showError(error);
        turn.cancelled = report.cancelled;
        if (!report.cancelled) {
          turn.error = report.message;
        }
      }
    } finally {
      turn.streaming = false;
      progress.end();
      this.markDirty(index);
      this.flush();
    }
  }

  stop(): void {
    this.current?.source.cancel();
  }

  newChat(): void {
    this.stop();
    this.turns = [];
    this.conversation = newConversation();
    this.post({ type: 'reset', ...this.state() });
    this.markSaved();
    this.scheduleCount();
  }

  // ---- saved conversations

  private async save(): Promise<void> {
    if (this.turns.length === 0) {
      return;
    }
    this.conversation.turns = this.turns.map(savedTurn);
    this.conversation.updated = Date.now();
    const stored = this.store.get(this.conversation.id);
    if (stored) {
      this.conversation.title = stored.title;
    }
    await this.store.save({ ...this.conversation });
    this.markSaved();
  }

  /** Shows a saved conversation; the next question continues it. */
  async open(id: string): Promise<boolean> {
    const conversation = this.store.get(id);
    if (!conversation) {
      void vscode.window.showErrorMessage('Switchboard: that conversation is no longer saved.');
      return false;
    }
    this.stop();
    await this.current?.done;
    this.conversation = { ...conversation };
    this.turns = conversation.turns.map(restoredTurn);
    this.markSaved();
    await this.show(true);
    this.post({ type: 'reset', ...this.state() });
    this.scheduleCount();
    return true;
  }

  async rename(id: string, title: string): Promise<boolean> {
    const renamed = await this.store.rename(id, title);
    if (renamed && id === this.conversation.id) {
      this.conversation.title = title.trim();
      this.postModel();
    }
    return renamed;
  }

  async delete(id: string): Promise<boolean> {
    const deleted = await this.store.delete(id);
    if (deleted && id === this.conversation.id) {
      this.newChat();
    }
    return deleted;
  }

  // ---- context

  private editorAttachment(): Attachment | undefined {
    const editor = this.editors.editor;
    if (!editor || editor.document.uri.scheme === 'output' || editor.document.uri.scheme === 'switchboard-proposal') {
      return undefined;
    }
    const { document, selection } = editor;
    const fileName = displayName(document.uri);
    if (selection.isEmpty) {
      return { key: document.uri.toString(), label: '', kind: 'file', fileName, languageId: document.languageId, text: document.getText() };
    }
    const endLine = selection.end.line + (selection.end.character === 0 && selection.end.line > selection.start.line ? 0 : 1);
    const attachment: Attachment = {
      key: `${document.uri.toString()}#${selection.start.line + 1}-${endLine}`,
      label: '',
      kind: 'selection',
      fileName,
      languageId: document.languageId,
      text: document.getText(selection),
      startLine: selection.start.line + 1,
      endLine,
    };
    return attachment;
  }

  private refreshEditorContext(): void {
    const next = this.editorAttachment();
    const previous = this.context.editor;
    if (next) {
      next.label = chipLabel(next);
    }
    this.context.editor = next;
    if (previous?.key !== next?.key || previous?.text !== next?.text) {
      this.postContext();
      this.scheduleCount();
    }
  }

  toggleEditorContext(on = !this.context.editorOn): boolean {
    this.context.editorOn = on;
    this.postContext();
    this.scheduleCount();
    return on;
  }

  /** Attaches a file to the next question: the given one, or one picked from the workspace (#file). */
  async attachFile(uri?: vscode.Uri): Promise<Attachment | undefined> {
    let target = uri;
    if (!target) {
      const files = await vscode.workspace.findFiles('**/*', FILE_EXCLUDES, 2000);
      const picked = await vscode.window.showQuickPick(
        files
          .map((file) => ({ label: displayName(file), uri: file }))
          .sort((a, b) => a.label.localeCompare(b.label)),
        { title: 'Switchboard: Attach a file to the question (#file)', placeHolder: 'File', matchOnDescription: true },
      );
      target = picked?.uri;
    }
    if (!target) {
      return undefined;
    }
    try {
      const document = await vscode.workspace.openTextDocument(target);
      const attachment: Attachment = {
        key: document.uri.toString(),
        label: '',
        kind: 'file',
        fileName: displayName(document.uri),
        languageId: document.languageId,
        text: document.getText(),
      };
      attachment.label = chipLabel(attachment);
      this.context.files = [...this.context.files.filter((file) => file.key !== attachment.key), attachment];
      this.postContext();
      this.scheduleCount();
      return attachment;
    } catch (error) {
      void vscode.window.showErrorMessage(`Switchboard: cannot attach ${displayName(target)}: ${String(error)}`);
      return undefined;
    }
  }

  removeFile(key: string): void {
    this.context.files = this.context.files.filter((file) => file.key !== key);
    this.postContext();
    this.scheduleCount();
  }

  chips(): ContextChip[] {
    const chips: ContextChip[] = [];
    const editor = this.context.editor;
    if (editor) {
      chips.push({
        key: editor.key,
        label: editor.label,
        kind: 'editor',
        on: this.context.editorOn,
        title: `${editor.kind === 'selection' ? 'The selection' : 'The current file'} goes with the question: click to turn it ${this.context.editorOn ? 'off' : 'on'}`,
      });
    }
    for (const file of this.context.files) {
      chips.push({ key: file.key, label: file.label, kind: 'file', on: true, title: 'Attached with #file: click to remove' });
    }
    return chips;
  }

  /** Counts the next request (history, attachments and the draft) with the server; resolves to what the composer shows. */
  async countDraft(draft = this.draft): Promise<string | undefined> {
    const seq = ++this.countSeq;
    const messages = historyMessages(this.turns);
    const attachments = activeAttachments(this.context);
    const question = draft.trim() || (attachments.length ? '…' : '');
    if (!question) {
      this.lastCount = undefined;
      this.post({ type: 'tokens', text: '' });
      return undefined;
    }
    messages.push({ role: 'user', content: withContext(question, attachments) });
    try {
      const result = await this.connection.request<CountTokensResult>(Methods.countTokens, {
        model: configuredModel(),
        messages,
      });
      if (seq !== this.countSeq) {
        return undefined;
      }
      const summary = draftSummary(result);
      this.lastCount = { draft, result, summary };
      this.post({ type: 'tokens', text: summary, title: `${result.method}${result.exact ? '' : ' (an estimate)'}: what the next request sends` });
      return summary;
    } catch {
      if (seq === this.countSeq) {
        this.post({ type: 'tokens', text: '' });
      }
      return undefined;
    }
  }

  /** Counts again soon; only while the view is on screen (a count may ask the provider). */
  private scheduleCount(): void {
    if (this.countTimer) {
      clearTimeout(this.countTimer);
      this.countTimer = undefined;
    }
    if (!this.visible) {
      return;
    }
    this.countTimer = setTimeout(() => {
      this.countTimer = undefined;
      void this.countDraft();
    }, COUNT_DELAY_MS);
  }

  // ---- code blocks

  /** A code block's text at the cursor of the last text editor (replacing its selection). */
  async insert(code: string): Promise<boolean> {
    const editor = this.editors.editor;
    if (!editor) {
      void vscode.window.showWarningMessage('Switchboard: open a file to insert the code into.');
      return false;
    }
    const shown = await vscode.window.showTextDocument(editor.document, editor.viewColumn);
    return shown.edit((builder) => {
      for (const selection of shown.selections) {
        builder.replace(selection, code);
      }
    });
  }

  /** A code block proposed for the last text editor (its selection, or the whole file) as a diff to accept or reject. */
  async apply(code: string): Promise<boolean> {
    const editor = this.editors.editor;
    if (!editor) {
      void vscode.window.showWarningMessage('Switchboard: open a file to apply the code to.');
      return false;
    }
    const { document, selection } = editor;
    const whole = new vscode.Range(document.positionAt(0), document.positionAt(document.getText().length));
    const range = selection.isEmpty ? whole : new vscode.Range(selection.start, selection.end);
    const body = document.getText(range).endsWith('\n') && !code.endsWith('\n') ? `${code}\n` : code;
    await this.proposals.propose(document, range, body);
    return true;
  }

  // ---- the webview

  private onMessage(message: FromWebview): void {
    switch (message.type) {
      case 'ready':
        this.webviewReady = true;
        this.post({ type: 'reset', ...this.state() });
        this.postContext();
        for (const resolve of this.readyWaiters.splice(0)) {
          resolve();
        }
        break;
      case 'send':
        void this.send(message.text);
        break;
      case 'stop':
        this.stop();
        break;
      case 'newChat':
        this.newChat();
        break;
      case 'chooseModel':
        void vscode.commands.executeCommand('switchboard.chooseModel');
        break;
      case 'history':
        void vscode.commands.executeCommand('switchboard.history');
        break;
      case 'copy':
        void vscode.env.clipboard.writeText(message.text);
        void vscode.window.setStatusBarMessage('Switchboard: copied', 2000);
        break;
      case 'insert':
        void this.insert(message.text);
        break;
      case 'apply':
        void this.apply(message.text);
        break;
      case 'toggleEditor':
        this.toggleEditorContext();
        break;
      case 'removeFile':
        this.removeFile(message.key);
        break;
      case 'pickFile':
        void this.attachFile();
        break;
      case 'draft':
        this.draft = message.text;
        this.scheduleCount();
        break;
    }
  }

  /** Rename Conversation is offered while the chat shows a saved one. */
  private markSaved(): void {
    void vscode.commands.executeCommand('setContext', 'switchboard.chatHasConversation', this.turns.length > 0);
  }

  private state(): { messages: ReturnType<typeof messageView>[]; model: string; busy: boolean } {
    return { messages: this.turns.map(messageView), model: this.modelLabel(), busy: this.busy };
  }

  private modelLabel(): string {
    return configuredModel() || this.lastAnswer?.answer.model || 'default model';
  }

  private postModel(): void {
    if (this.view) {
      this.view.description = this.modelLabel();
      this.view.title = 'Chat';
    }
    this.post({ type: 'model', model: this.modelLabel(), title: this.conversation.title });
  }

  private postContext(): void {
    this.post({ type: 'context', chips: this.chips() });
  }

  private markDirty(index: number): void {
    this.dirty.add(index);
    if (!this.renderTimer) {
      this.renderTimer = setTimeout(() => this.flush(), RENDER_INTERVAL_MS);
    }
  }

  private flush(): void {
    if (this.renderTimer) {
      clearTimeout(this.renderTimer);
      this.renderTimer = undefined;
    }
    for (const index of this.dirty) {
      const turn = this.turns[index];
      if (turn) {
        this.post({ type: 'update', index, message: messageView(turn), model: this.modelLabel() });
      }
    }
    this.dirty.clear();
  }

  private post(message: Record<string, unknown>): void {
    if (this.view && this.webviewReady) {
      void this.view.webview.postMessage(message);
    }
  }

  private html(webview: vscode.Webview, media: vscode.Uri): string {
    const nonce = randomBytes(16).toString('base64');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(media, 'chat.js'));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(media, 'chat.css'));
    const csp = [
      "default-src 'none'",
      `style-src ${webview.cspSource}`,
      `img-src ${webview.cspSource} https: data:`,
      `script-src 'nonce-${nonce}'`,
    ].join('; ');
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style}">
<title>Switchboard Chat</title>
</head>
<body>
<main id="messages" aria-live="polite"></main>
<p id="empty">Ask anything. The current file (or its selection) goes with the question while its chip is on; <kbd>#</kbd> attaches another file. <kbd>Enter</kbd> sends, <kbd>Shift+Enter</kbd> adds a line.</p>
<form id="composer">
  <div id="context" class="chips" aria-label="Context"></div>
  <textarea id="input" rows="3" placeholder="Ask Switchboard… (# attaches a file)" aria-label="Message"></textarea>
  <div class="footer">
    <button type="button" id="attach" class="secondary" title="Attach a file (#file)">#file</button>
    <button type="button" id="model" class="link" title="Choose the model"></button>
    <span id="tokens" title="What the next request sends"></span>
    <button type="submit" id="send">Send</button>
    <button type="button" id="stop" hidden>Stop</button>
  </div>
</form>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
  }

  dispose(): void {
    this.stop();
    if (this.countTimer) {
      clearTimeout(this.countTimer);
    }
    for (const disposable of this.disposables) {
      disposable.dispose();
    }
  }
}

function configuredModel(): string | undefined {
  return vscode.workspace.getConfiguration('switchboard').get<string>('defaultModel') || undefined;
}

function newConversation(): Conversation {
  return { id: randomUUID(), title: 'New chat', updated: Date.now(), turns: [] };
}
