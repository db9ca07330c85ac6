// Sign In…, Set API Key…, Sign Out: the server runs the flows and keeps the secrets; this side
// shows device codes, opens pages, and asks for keys in a password box.
import * as vscode from 'vscode';
import type { Connection } from './connection';
import { Methods, type ProviderInfo, type SetApiKeyResult, type SignInResult } from './protocol';
import { showError } from './ui';

type Need = 'interactive' | 'apiKey' | 'signedIn';

function fits(provider: ProviderInfo, need: Need): boolean {
  const methods = provider.auth.methods;
  if (need === 'interactive') {
    return methods.includes('device') || methods.includes('oauth') || methods.includes('apiKey');
  }
  if (need === 'apiKey') {
    return methods.includes('apiKey');
  }
  return provider.auth.status === 'signedIn';
}

function statusLabel(provider: ProviderInfo): string {
  const state = provider.auth.status === 'signedIn' ? 'signed in' : provider.auth.status === 'expired' ? 'expired' : 'signed out';
  const source = provider.auth.source ? ` (${provider.auth.source})` : '';
  const account = provider.auth.account ? ` as ${provider.auth.account}` : '';
  return `${state}${account}${source}`;
}

async function pickProvider(
  connection: Connection,
  need: Need,
  title: string,
  given?: string,
): Promise<ProviderInfo | undefined> {
  const { providers } = await connection.request<{ providers: ProviderInfo[] }>(Methods.providers, {});
  if (given) {
    const found = providers.find((provider) => provider.id === given);
    if (!found) {
      void vscode.window.showErrorMessage(`Switchboard: no provider "${given}".`);
    }
    return found;
  }
  const candidates = providers.filter((provider) => fits(provider, need));
  if (candidates.length === 0) {
    void vscode.window.showInformationMessage(
      need === 'signedIn' ? 'Switchboard: no provider has a stored sign-in.' : 'Switchboard: no provider to sign in to.',
    );
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    candidates.map((provider) => ({
      label: provider.name,
      description: provider.id,
      detail: `${statusLabel(provider)} · ${provider.auth.methods.filter((m) => m !== 'none').join(', ')}`,
      provider,
    })),
    { title, placeHolder: 'Provider', matchOnDescription: true },
  );
  return picked?.provider;
}

export async function signIn(connection: Connection, providerArg?: string): Promise<SignInResult | undefined> {
  try {
    const provider = await pickProvider(connection, 'interactive', 'Switchboard: Sign In', providerArg);
    if (!provider) {
      return undefined;
    }
    const methods = provider.auth.methods;
    if (!methods.includes('device') && !methods.includes('oauth')) {
      await setApiKey(connection, provider.id);
      return undefined;
    }
    const started = await connection.request<SignInResult>(Methods.signIn, { provider: provider.id });
    if (started.status !== 'pending' || !started.flowId) {
      reportOutcome(provider, started);
      return started;
    }
    return await waitForSignIn(connection, provider, started);
  } catch (error) {
    showError(error);
    return undefined;
  }
}

async function waitForSignIn(
  connection: Connection,
  provider: ProviderInfo,
  pending: SignInResult,
): Promise<SignInResult | undefined> {
  if (pending.userCode && pending.verificationUri) {
    const code = pending.userCode;
    const page = vscode.Uri.parse(pending.verificationUri);
    const copyAndOpen = 'Copy Code and Open';
    void vscode.window
      .showInformationMessage(
        `Sign in to ${provider.name}: enter the code ${code} at ${pending.verificationUri}`,
        copyAndOpen,
      )
      .then(async (choice) => {
        if (choice === copyAndOpen) {
          await vscode.env.clipboard.writeText(code);
          await vscode.env.openExternal(page);
        }
      });
  } else if (pending.authUrl) {
    const page = vscode.Uri.parse(pending.authUrl);
    await vscode.env.openExternal(page);
    const openAgain = 'Open Again';
    void vscode.window
      .showInformationMessage(`Sign in to ${provider.name} in your browser.`, openAgain)
      .then((choice) => choice === openAgain && vscode.env.openExternal(page));
  }
  const outcome = await vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: `Switchboard: waiting for the sign-in to ${provider.name}…`,
      cancellable: true,
    },
    async (_progress, token) => {
      try {
        return await connection.request<SignInResult>(Methods.signInComplete, { flowId: pending.flowId }, token);
      } catch (error) {
        if (token.isCancellationRequested) {
          return undefined;
        }
        throw error;
      }
    },
  );
  if (outcome) {
    reportOutcome(provider, outcome);
  }
  return outcome;
}

function reportOutcome(provider: ProviderInfo, outcome: SignInResult): void {
  if (outcome.status === 'signedIn') {
    const account = outcome.account ? ` as ${outcome.account}` : '';
    void vscode.window.showInformationMessage(
      `Switchboard: signed in to ${provider.name}${account}.${outcome.message ? ` ${outcome.message}` : ''}`,
    );
    return;
  }
  const tryAgain = 'Try Again';
  const reason = outcome.status === 'expired' ? 'the code expired' : (outcome.message ?? outcome.status);
  void vscode.window
    .showErrorMessage(`Switchboard: the sign-in to ${provider.name} did not finish: ${reason}`, tryAgain)
    .then((choice) => choice === tryAgain && vscode.commands.executeCommand('switchboard.signIn', provider.id));
}

export async function setApiKey(
  connection: Connection,
  providerArg?: string,
  keyArg?: string,
): Promise<SetApiKeyResult | undefined> {
  try {
    const provider = await pickProvider(connection, 'apiKey', 'Switchboard: Set API Key', providerArg);
    if (!provider) {
      return undefined;
    }
    const apiKey =
      keyArg ??
      (await vscode.window.showInputBox({
        title: `Switchboard: API key for ${provider.name}`,
        prompt: 'Stored in the OS keyring by the server; never shown or logged.',
        password: true,
        ignoreFocusOut: true,
        validateInput: (value) => (value.trim() ? undefined : 'Paste the key'),
      }));
    if (!apiKey) {
      return undefined;
    }
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Switchboard: checking the key for ${provider.name}…` },
      () => connection.request<SetApiKeyResult>(Methods.setApiKey, { provider: provider.id, apiKey: apiKey.trim() }),
    );
    if (result.status === 'signedIn') {
      const unchecked = result.verified === false ? ' (it could not be checked yet)' : '';
      void vscode.window.showInformationMessage(`Switchboard: key stored for ${provider.name}${unchecked}.`);
    } else {
      const tryAgain = 'Try Again';
      void vscode.window
        .showErrorMessage(`Switchboard: ${result.message ?? `the key for ${provider.name} was rejected`}`, tryAgain)
        .then((choice) => choice === tryAgain && vscode.commands.executeCommand('switchboard.setApiKey', provider.id));
    }
    return result;
  } catch (error) {
    showError(error);
    return undefined;
  }
}

export async function signOut(connection: Connection, providerArg?: string): Promise<SignInResult | undefined> {
  try {
    const provider = await pickProvider(connection, 'signedIn', 'Switchboard: Sign Out', providerArg);
    if (!provider) {
      return undefined;
    }
    const result = await connection.request<SignInResult>(Methods.signOut, { provider: provider.id });
    if (result.status === 'signedOut') {
      void vscode.window.showInformationMessage(`Switchboard: signed out of ${provider.name}.`);
    } else {
      void vscode.window.showWarningMessage(`Switchboard: ${result.message ?? `still signed in to ${provider.name}`}.`);
    }
    return result;
  } catch (error) {
    showError(error);
    return undefined;
  }
}
