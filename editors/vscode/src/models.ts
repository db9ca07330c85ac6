// Choose Model: a quick pick of switchboard/models with limits, prices and availability.
import * as vscode from 'vscode';
import type { Connection } from './connection';
import { modelDescription, modelDetail } from './format';
import { Methods, type ModelInfo } from './protocol';
import { showError } from './ui';

export class ModelDirectory {
  private cached: ModelInfo[] | undefined;

  constructor(private readonly connection: Connection) {
    connection.onStateChanged(() => {
      this.cached = undefined;
    });
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('switchboard')) {
        this.cached = undefined;
      }
    });
  }

  async list(refresh = false): Promise<ModelInfo[]> {
    if (!this.cached || refresh) {
      const result = await this.connection.request<{ models: ModelInfo[] }>(Methods.models, { refresh });
      this.cached = result.models;
    }
    return this.cached;
  }
}

interface ModelItem extends vscode.QuickPickItem {
  model?: ModelInfo;
}

function currentModel(models: readonly ModelInfo[]): string | undefined {
  const configured = vscode.workspace.getConfiguration('switchboard').get<string>('defaultModel');
  return configured || models.find((model) => model.isDefault)?.id;
}

export function modelItems(models: readonly ModelInfo[], current: string | undefined): ModelItem[] {
  const items: ModelItem[] = [];
  const byProvider = new Map<string, ModelInfo[]>();
  for (const model of models) {
    byProvider.set(model.provider, [...(byProvider.get(model.provider) ?? []), model]);
  }
  const providers = Array.from(byProvider.keys()).sort((a, b) => {
    const ready = (p: string): number => (byProvider.get(p)!.some((m) => m.available) ? 0 : 1);
    return ready(a) - ready(b) || a.localeCompare(b);
  });
  for (const provider of providers) {
    items.push({ label: provider, kind: vscode.QuickPickItemKind.Separator });
    for (const model of byProvider.get(provider)!) {
      items.push({
        label: `${model.id === current ? '$(check) ' : ''}${model.name}`,
        description: model.id,
        detail: `${modelDescription(model)} · ${modelDetail(model)}`,
        model,
      });
    }
  }
  return items;
}

/** Sets the chat model. With an id (from a test or a keybinding) the picker is skipped. */
export async function chooseModel(directory: ModelDirectory, id?: string): Promise<string | undefined> {
  let models: ModelInfo[];
  try {
    models = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: 'Switchboard: loading models' },
      () => directory.list(),
    );
  } catch (error) {
    showError(error);
    return undefined;
  }
  let chosen: ModelInfo | undefined;
  if (id) {
    chosen = models.find((model) => model.id === id);
    if (!chosen) {
      void vscode.window.showErrorMessage(`Switchboard: no model "${id}".`);
      return undefined;
    }
  } else {
    const picked = await vscode.window.showQuickPick(modelItems(models, currentModel(models)), {
      title: 'Switchboard: Choose Model',
      placeHolder: 'The model chats use (type to filter by name or provider/model)',
      matchOnDescription: true,
      matchOnDetail: true,
    });
    chosen = picked?.model;
  }
  if (!chosen) {
    return undefined;
  }
  const config = vscode.workspace.getConfiguration('switchboard');
  const inspected = config.inspect<string>('defaultModel');
  const target =
    inspected?.workspaceValue !== undefined
      ? vscode.ConfigurationTarget.Workspace
      : vscode.ConfigurationTarget.Global;
  await config.update('defaultModel', chosen.id, target);
  if (!chosen.available && !id) {
    const signIn = 'Sign In…';
    void vscode.window
      .showWarningMessage(`Switchboard: no credentials for ${chosen.provider} yet.`, signIn)
      .then((choice) => choice === signIn && vscode.commands.executeCommand('switchboard.signIn', chosen.provider));
  }
  return chosen.id;
}
