// Ghost text: VS Code's inline completion provider, answered by the server's
// textDocument/inlineCompletion. Tab accepts a suggestion (VS Code's own handling).
// Suggestions as you type follow the switchboard.inlineCompletions.enabled setting; an explicit
// request (Complete Here, or VS Code's Trigger Inline Suggestion) is answered either way.
import * as vscode from 'vscode';
import type {
  Command as WireCommand,
  InlineCompletionItem as WireItem,
  InlineCompletionList as WireList,
  Range as WireRange,
} from 'vscode-languageclient';

export type WireInlineResult = WireList | WireItem[] | null;

/** Where the suggestions come from: the server, through the language client (see Connection). */
export interface InlineSource {
  /** The server's answer; undefined when no server that offers inline completion is running. */
  inlineCompletion(
    document: vscode.TextDocument,
    position: vscode.Position,
    context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken,
  ): Promise<WireInlineResult | undefined>;
}

/** One answered request, for whoever watches (the status bar's messages, the tests). */
export interface InlineAnswer {
  uri: string;
  position: vscode.Position;
  explicit: boolean;
  texts: string[];
}

/** Whether to ask the server: always when asked explicitly, as you type only when enabled. */
export function shouldAsk(explicit: boolean, enabled: boolean): boolean {
  return explicit || enabled;
}

function toRange(range: WireRange): vscode.Range {
  return new vscode.Range(
    new vscode.Position(range.start.line, range.start.character),
    new vscode.Position(range.end.line, range.end.character),
  );
}

function toCommand(command: WireCommand): vscode.Command {
  return { title: command.title, command: command.command, arguments: command.arguments };
}

/**
 * The server's items as VS Code's: the text (a snippet when the server sent one) and the range it
 * replaces. An item without a range is inserted at the cursor: the server's text is what goes
 * there, while VS Code would otherwise replace the word before the cursor with it.
 */
export function toInlineItems(result: WireInlineResult | undefined, position: vscode.Position): vscode.InlineCompletionItem[] {
  const items = Array.isArray(result) ? result : (result?.items ?? []);
  const converted: vscode.InlineCompletionItem[] = [];
  for (const item of items) {
    const text = typeof item.insertText === 'string' ? item.insertText : new vscode.SnippetString(item.insertText.value);
    if ((typeof text === 'string' ? text : text.value) === '') {
      continue;
    }
    const range = item.range ? toRange(item.range) : new vscode.Range(position, position);
    const inline = new vscode.InlineCompletionItem(text, range, item.command ? toCommand(item.command) : undefined);
    if (item.filterText !== undefined) {
      inline.filterText = item.filterText;
    }
    converted.push(inline);
  }
  return converted;
}

function textOf(item: vscode.InlineCompletionItem): string {
  return typeof item.insertText === 'string' ? item.insertText : item.insertText.value;
}

/**
 * The provider proper. It counts the requests in flight (the status bar's spinner) and hands the
 * cancellation token to the request, so that VS Code's cancel (the user typed on) reaches the
 * server as $/cancelRequest.
 */
export class InlineCompletionProvider implements vscode.InlineCompletionItemProvider {
  private inFlight = 0;
  /** Requests sent to the server so far. */
  requests = 0;
  last: InlineAnswer | undefined;

  constructor(
    private readonly source: InlineSource,
    private readonly isEnabled: () => boolean,
    private readonly onBusy: (busy: boolean) => void = () => undefined,
    private readonly onAnswer: (answer: InlineAnswer) => void = () => undefined,
  ) {}

  get busy(): boolean {
    return this.inFlight > 0;
  }

  async provideInlineCompletionItems(
    document: vscode.TextDocument,
    position: vscode.Position,
    context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken,
  ): Promise<vscode.InlineCompletionItem[] | undefined> {
    const explicit = context.triggerKind === vscode.InlineCompletionTriggerKind.Invoke;
    if (!shouldAsk(explicit, this.isEnabled()) || token.isCancellationRequested) {
      return undefined;
    }
    this.requests += 1;
    this.inFlight += 1;
    if (this.inFlight === 1) {
      this.onBusy(true);
    }
    let result: WireInlineResult | undefined;
    try {
      result = await this.source.inlineCompletion(document, position, context, token);
    } catch {
      // Cancelled, or the server failed: nothing to show. The server logs its failures, and an
      // error here would be a message per keystroke.
      result = undefined;
    } finally {
      this.inFlight -= 1;
      if (this.inFlight === 0) {
        this.onBusy(false);
      }
    }
    if (token.isCancellationRequested) {
      return undefined;
    }
    const items = toInlineItems(result, position);
    this.last = { uri: document.uri.toString(), position, explicit, texts: items.map(textOf) };
    this.onAnswer(this.last);
    return items;
  }
}
