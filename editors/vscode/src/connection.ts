// The language client: finds and starts `switchboard serve`, keeps its settings in step, and
// carries the custom requests (a chat's partial results arrive as $/progress on its token).
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { constants as fsConstants, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  CompletionRequest,
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  InlineCompletionRequest,
  LanguageClient,
  ProgressType,
  RevealOutputChannelOn,
  State,
  WorkDoneProgress,
  type ApplyWorkspaceEditParams,
  type ApplyWorkspaceEditResult,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import type { WireInlineResult } from './inlineCompletion';
import { Methods, type ChatParams, type ChatProgress, type ChatResult, type UsageChanged } from './protocol';
import { resolveServer, ServerNotFound, type ServerCommand, type ServerLookup } from './serverCommand';
import { RESTART_SECTIONS, SERVER_SECTIONS, serverSettings } from './settings';

const CHAT_PROGRESS = new ProgressType<ChatProgress>();
const INSTALL_HELP = 'How to Install';
const SET_PATH = 'Set Server Path';
const SHOW_LOG = 'Show Server Log';

/** The documents the server is told about (and so the ones it can complete in). */
export const SYNCED_DOCUMENTS: { scheme: string }[] = [{ scheme: 'file' }, { scheme: 'untitled' }];

export type ConnectionState = 'stopped' | 'starting' | 'running' | 'notFound' | 'failed';

/** Stands between the server's workspace/applyEdit and the editor (see rewrite.ts). */
export type ApplyEditHandler = (
  params: ApplyWorkspaceEditParams,
  next: (params: ApplyWorkspaceEditParams) => Promise<ApplyWorkspaceEditResult>,
) => Promise<ApplyWorkspaceEditResult>;

export class Connection implements vscode.Disposable {
  readonly output: vscode.LogOutputChannel;
  private client: LanguageClient | undefined;
  private starting: Promise<LanguageClient | undefined> | undefined;
  private readonly usageEmitter = new vscode.EventEmitter<UsageChanged>();
  private readonly stateEmitter = new vscode.EventEmitter<ConnectionState>();
  private readonly disposables: vscode.Disposable[] = [];
  readonly onUsageChanged = this.usageEmitter.event;
  readonly onStateChanged = this.stateEmitter.event;
  state: ConnectionState = 'stopped';
  /** The last start-up problem shown to the user (the tests read it too). */
  lastStartError: string | undefined;
  server: ServerCommand | undefined;
  /** Set by the extension: where the server's edits go before they are applied. */
  applyEdit: ApplyEditHandler | undefined;

  constructor(private readonly extensionUri: vscode.Uri) {
    this.output = vscode.window.createOutputChannel('Switchboard', { log: true });
    this.disposables.push(
      this.output,
      this.usageEmitter,
      this.stateEmitter,
      vscode.workspace.onDidChangeConfiguration((event) => this.onConfiguration(event)),
    );
  }

  private setState(state: ConnectionState): void {
    this.state = state;
    this.stateEmitter.fire(state);
  }

  /** The running client, started on first need. Undefined when the server cannot start. */
  ready(): Promise<LanguageClient | undefined> {
    if (this.client && this.client.state === State.Running) {
      return Promise.resolve(this.client);
    }
    if (!this.starting) {
      this.starting = this.start().finally(() => {
        this.starting = undefined;
      });
    }
    return this.starting;
  }

  private async start(): Promise<LanguageClient | undefined> {
    if (this.client) {
      // It stopped for good (the language client gives up after repeated crashes): start anew.
      const stale = this.client;
      this.client = undefined;
      await stale.dispose().catch(() => undefined);
    }
    this.setState('starting');
    const config = vscode.workspace.getConfiguration('switchboard');
    let server: ServerCommand;
    try {
      server = await resolveServer(
        config.get<string>('server.path') ?? '',
        config.get<string[]>('server.args') ?? [],
        this.lookup(),
      );
    } catch (error) {
      if (error instanceof ServerNotFound) {
        this.setState('notFound');
        this.reportStartError(error.message, true);
        return undefined;
      }
      throw error;
    }
    this.server = server;
    this.output.appendLine(`Starting ${server.command} ${server.args.join(' ')} (from the ${server.origin})`);
    const serverOptions: ServerOptions = {
      command: server.command,
      args: server.args,
      options: { env: process.env },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: SYNCED_DOCUMENTS,
      initializationOptions: () => serverSettings(vscode.workspace.getConfiguration('switchboard')),
      outputChannel: this.output,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      middleware: {
        workspace: {
          handleApplyEdit: (params, next) => {
            const token = new vscode.CancellationTokenSource().token;
            return this.applyEdit
              ? this.applyEdit(params, async (forwarded) => (await next(forwarded, token)) as ApplyWorkspaceEditResult)
              : next(params, token);
          },
        },
      },
      initializationFailedHandler: (error) => {
        this.output.appendLine(`Initialization failed: ${String(error)}`);
        return false;
      },
    };
    const client = new LanguageClient('switchboard', 'Switchboard', serverOptions, clientOptions);
    keepOwnCommands(client, new Set(await vscode.commands.getCommands(true)));
    leaveCompletionsToGhostText(client);
    client.onNotification(Methods.usageChanged, (params: UsageChanged) => this.usageEmitter.fire(params));
    client.onDidChangeState((change) => {
      if (change.newState === State.Stopped && this.client === client && this.state === 'running') {
        this.setState('stopped');
      }
    });
    try {
      await client.start();
    } catch (error) {
      this.setState('failed');
      this.reportStartError(`Switchboard: the server did not start (${describe(error)}).`, true);
      await client.dispose().catch(() => undefined);
      return undefined;
    }
    this.client = client;
    this.lastStartError = undefined;
    this.setState('running');
    return client;
  }

  private reportStartError(message: string, offerInstall: boolean): void {
    this.lastStartError = message;
    this.output.appendLine(message);
    const actions = offerInstall ? [INSTALL_HELP, SET_PATH, SHOW_LOG] : [SHOW_LOG];
    void vscode.window.showErrorMessage(message, ...actions).then((choice) => {
      if (choice === INSTALL_HELP) {
        void this.showInstallHelp();
      } else if (choice === SET_PATH) {
        void vscode.commands.executeCommand('workbench.action.openSettings', 'switchboard.server.path');
      } else if (choice === SHOW_LOG) {
        this.output.show(true);
      }
    });
  }

  async showInstallHelp(): Promise<void> {
    const readme = vscode.Uri.joinPath(this.extensionUri, 'README.md');
    try {
      await vscode.commands.executeCommand('markdown.showPreview', readme);
    } catch {
      await vscode.window.showTextDocument(readme);
    }
  }

  async restart(): Promise<LanguageClient | undefined> {
    await this.stop();
    return this.ready();
  }

  async stop(): Promise<void> {
    await this.starting?.catch(() => undefined);
    const client = this.client;
    this.client = undefined;
    if (client) {
      await client.stop(5000).catch(() => undefined);
      await client.dispose().catch(() => undefined);
    }
    this.setState('stopped');
  }

  private onConfiguration(event: vscode.ConfigurationChangeEvent): void {
    if (RESTART_SECTIONS.some((section) => event.affectsConfiguration(section))) {
      if (this.client || this.state === 'notFound' || this.state === 'failed') {
        void this.restart();
      }
      return;
    }
    if (this.client && SERVER_SECTIONS.some((section) => event.affectsConfiguration(section))) {
      const settings = serverSettings(vscode.workspace.getConfiguration('switchboard'));
      void this.client.sendNotification(DidChangeConfigurationNotification.type, {
        settings: { switchboard: settings },
      });
    }
  }

  async request<R>(method: string, params: unknown, token?: vscode.CancellationToken): Promise<R> {
    const client = await this.ready();
    if (!client) {
      throw new Error(this.lastStartError ?? 'Switchboard: the server is not running.');
    }
    return token ? client.sendRequest<R>(method, params, token) : client.sendRequest<R>(method, params);
  }

  /**
   * The server's inline completion at a position (textDocument/inlineCompletion), with the
   * client's own conversions, so the document is the one it synced. Undefined when no server that
   * offers it is running: this never starts one (it is asked at every keystroke).
   */
  async inlineCompletion(
    document: vscode.TextDocument,
    position: vscode.Position,
    context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken,
  ): Promise<WireInlineResult | undefined> {
    const client = this.client;
    if (!client || this.state !== 'running' || !client.initializeResult?.capabilities.inlineCompletionProvider) {
      return undefined;
    }
    const params = client.code2ProtocolConverter.asInlineCompletionParams(document, position, context);
    return client.sendRequest(InlineCompletionRequest.type, params, token);
  }

  /** A chat whose events are handed to `onEvents` as they stream; resolves to the whole result. */
  async chat(
    params: ChatParams,
    onEvents: (progress: ChatProgress) => void,
    token?: vscode.CancellationToken,
  ): Promise<ChatResult> {
    const client = await this.ready();
    if (!client) {
      throw new Error(this.lastStartError ?? 'Switchboard: the server is not running.');
    }
    const id = randomUUID();
    const partialResultToken = `switchboard-chat-${id}`;
    // Our own work-done token keeps the server from opening a second progress indicator
    // beside the status bar item, which already shows this answer's progress.
    const workDoneToken = `switchboard-work-${id}`;
    const listeners = [
      client.onProgress(CHAT_PROGRESS, partialResultToken, (value) => {
        if (value && Array.isArray(value.events)) {
          onEvents(value);
        }
      }),
      client.onProgress(WorkDoneProgress.type, workDoneToken, () => undefined),
    ];
    try {
      const request = { ...params, partialResultToken, workDoneToken };
      return await (token
        ? client.sendRequest<ChatResult>(Methods.chat, request, token)
        : client.sendRequest<ChatResult>(Methods.chat, request));
    } finally {
      for (const listener of listeners) {
        listener.dispose();
      }
    }
  }

  private lookup(): ServerLookup {
    return {
      which: (name) => which(name),
      pythonInterpreter: () => pythonInterpreter(),
      hasServerModule: (python) => hasServerModule(python),
    };
  }

  dispose(): void {
    void this.stop();
    for (const disposable of this.disposables) {
      disposable.dispose();
    }
  }
}

/**
 * The server offers workspace commands (switchboard.signIn, …) for editors without a plugin.
 * Here this extension's commands of the same name do that job with a UI, so they stay.
 */
function keepOwnCommands(client: LanguageClient, existing: ReadonlySet<string>): void {
  const feature = client.getFeature(ExecuteCommandRequest.method);
  const register = feature.register.bind(feature);
  feature.register = (data) =>
    register({
      ...data,
      registerOptions: {
        ...data.registerOptions,
        commands: data.registerOptions.commands.filter((command) => !existing.has(command)),
      },
    });
}

/**
 * The server's suggestions reach VS Code through this extension's own inline completion provider
 * (ghostText.ts), which the toggle and the status bar item follow. The language client would
 * register a second provider from the server's capabilities, and a completion item provider that
 * repeats the suggestion in the suggest widget (textDocument/completion is for editors without
 * ghost text): neither is registered.
 */
function leaveCompletionsToGhostText(client: LanguageClient): void {
  const inline = client.getFeature(InlineCompletionRequest.method);
  if (inline) {
    inline.register = () => undefined;
  }
  client.getFeature(CompletionRequest.method).register = () => undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function expandPath(name: string): string {
  let expanded = name.replace(/^~(?=$|[\\/])/, os.homedir());
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (folder) {
    expanded = expanded.replace(/\$\{workspaceFolder\}/g, folder);
  }
  if (!path.isAbsolute(expanded) && folder && /[\\/]/.test(expanded)) {
    expanded = path.join(folder, expanded);
  }
  return expanded;
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile()) {
      return false;
    }
    await fs.access(file, process.platform === 'win32' ? fsConstants.F_OK : fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function which(name: string): Promise<string | undefined> {
  const expanded = expandPath(name);
  if (path.isAbsolute(expanded)) {
    return (await isExecutable(expanded)) ? expanded : undefined;
  }
  const extensions = process.platform === 'win32' ? ['', '.exe', '.cmd', '.bat'] : [''];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    for (const extension of extensions) {
      const candidate = path.join(dir, expanded + extension);
      if (await isExecutable(candidate)) {
        return candidate;
      }
    }
  }
  return undefined;
}

interface PythonApi {
  environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { path: string } | undefined;
    resolveEnvironment(env: { path: string }): Promise<{ executable?: { uri?: vscode.Uri } } | undefined>;
  };
  settings?: {
    getExecutionDetails(resource?: vscode.Uri): { execCommand?: string[] } | undefined;
  };
}

async function pythonInterpreter(): Promise<string | undefined> {
  const extension = vscode.extensions.getExtension<PythonApi>('ms-python.python');
  if (!extension) {
    return undefined;
  }
  try {
    const api = extension.isActive ? extension.exports : await extension.activate();
    const resource = vscode.workspace.workspaceFolders?.[0]?.uri;
    const active = api.environments?.getActiveEnvironmentPath(resource);
    if (active) {
      const resolved = await api.environments?.resolveEnvironment(active);
      return resolved?.executable?.uri?.fsPath ?? active.path;
    }
    return api.settings?.getExecutionDetails(resource)?.execCommand?.[0];
  } catch {
    return undefined;
  }
}

function hasServerModule(python: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(python, ['-c', 'import switchboard.server'], { timeout: 15000 }, (error) => resolve(!error));
  });
}
