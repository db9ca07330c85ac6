// The chat view: a webview panel whose answers stream in as they arrive.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { AnswerAccumulator } from './accumulator';
import { historyMessages, messageView, type AssistantTurn, type Turn } from './chatModel';
import type { Connection } from './connection';
import type { UsageStatus } from './statusBar';
import { showError, type EditorTracker, type Operations } from './ui';

type FromWebview =
  | { type: 'ready' }
  | { type: 'send'; text: string }
  | { type: 'stop' }
  | { type: 'newChat' }
  | { type: 'chooseModel' }
  | { type: 'copy'; text: string }
  | { type: 'insert'; text: string };

const RENDER_INTERVAL_MS = 40;

export class ChatController implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private webviewReady = false;
  readonly turns: Turn[] = [];
  private current: { source: vscode.CancellationTokenSource; done: Promise<void> } | undefined;
  private dirty = new Set<number>();
  private renderTimer: NodeJS.Timeout | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly connection: Connection,
    private readonly status: UsageStatus,
    private readonly editors: EditorTracker,
    private readonly operations: Operations,
  ) {
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration('switchboard.defaultModel')) {
          this.post({ type: 'model', model: this.modelLabel() });
        }
      }),
    );
  }

  get busy(): boolean {
    return this.current !== undefined;
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

  show(preserveFocus = false): vscode.WebviewPanel {
    if (this.panel) {
      this.panel.reveal(undefined, preserveFocus);
      return this.panel;
    }
    const media = vscode.Uri.joinPath(this.extensionUri, 'media');
    const panel = vscode.window.createWebviewPanel(
      'switchboard.chat',
      'Switchboard Chat',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus },
      { enableScripts: true, localResourceRoots: [media] },
    );
    panel.iconPath = vscode.Uri.joinPath(media, 'icon.svg');
    panel.webview.html = this.html(panel.webview, media);
    panel.webview.onDidReceiveMessage((message: FromWebview) => this.onMessage(message), null, this.disposables);
    panel.onDidDispose(
      () => {
        this.panel = undefined;
        this.webviewReady = false;
      },
      null,
      this.disposables,
    );
    this.panel = panel;
    return panel;
  }

  /** Sends a question and streams its answer; resolves when the answer is complete or stopped. */
  async send(text: string): Promise<void> {
    const question = text.trim();
    if (!question) {
      return;
    }
    this.show(true);
    if (this.current) {
      this.stop();
      await this.current?.done;
    }
    this.turns.push({ role: 'user', text: question });
    const turn: AssistantTurn = {
      role: 'assistant',
      answer: new AnswerAccumulator(),
      streaming: true,
      cancelled: false,
    };
    this.turns.push(turn);
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
    }
  }

  private async stream(turn: AssistantTurn, source: vscode.CancellationTokenSource): Promise<void> {
    const index = this.turns.indexOf(turn);
    const progress = this.status.beginStream();
    const model = vscode.workspace.getConfiguration('switchboard').get<string>('defaultModel') || undefined;
    try {
      const result = await this.connection.chat(
        { model, messages: historyMessages(this.turns.slice(0, index)) },
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
    this.turns.length = 0;
    this.post({ type: 'reset', ...this.state() });
  }

  private onMessage(message: FromWebview): void {
    switch (message.type) {
      case 'ready':
        this.webviewReady = true;
        this.post({ type: 'reset', ...this.state() });
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
      case 'copy':
        void vscode.env.clipboard.writeText(message.text);
        void vscode.window.setStatusBarMessage('Switchboard: copied', 2000);
        break;
      case 'insert':
        void this.insert(message.text);
        break;
    }
  }

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

  private state(): { messages: ReturnType<typeof messageView>[]; model: string; busy: boolean } {
    return { messages: this.turns.map(messageView), model: this.modelLabel(), busy: this.busy };
  }

  private modelLabel(): string {
    const configured = vscode.workspace.getConfiguration('switchboard').get<string>('defaultModel');
    return configured || this.lastAnswer?.answer.model || 'default model';
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
    if (this.panel && this.webviewReady) {
      void this.panel.webview.postMessage(message);
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
<header>
  <button type="button" id="model" class="link" title="Choose the model"></button>
  <button type="button" id="new-chat" title="Start a new chat">New chat</button>
</header>
<main id="messages" aria-live="polite"></main>
<p id="empty">Ask anything. Answers stream in here; <kbd>Enter</kbd> sends, <kbd>Shift+Enter</kbd> adds a line.</p>
<form id="composer">
  <textarea id="input" rows="3" placeholder="Ask Switchboard…" aria-label="Message"></textarea>
  <div class="buttons">
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
    this.panel?.dispose();
    for (const disposable of this.disposables) {
      disposable.dispose();
    }
  }
}
