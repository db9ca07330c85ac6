// @ts-check
// The chat view's script: draws the messages the extension sends (their HTML is rendered and
// escaped by the extension) and sends back what the user does. No dependencies.
(function () {
  /** @type {{postMessage(message: unknown): void}} */
  // @ts-ignore acquireVsCodeApi is provided by the webview host
  const vscode = acquireVsCodeApi();

  /**
   * @typedef {{role: 'user'|'assistant', html: string, thinkingHtml: string, meta: string,
   *            streaming: boolean, errorHtml: string}} MessageView
   * @typedef {{key: string, label: string, kind: 'editor'|'file', on: boolean, title: string}} Chip
   */

  const messages = /** @type {HTMLElement} */ (document.getElementById('messages'));
  const empty = /** @type {HTMLElement} */ (document.getElementById('empty'));
  const form = /** @type {HTMLFormElement} */ (document.getElementById('composer'));
  const input = /** @type {HTMLTextAreaElement} */ (document.getElementById('input'));
  const send = /** @type {HTMLButtonElement} */ (document.getElementById('send'));
  const stop = /** @type {HTMLButtonElement} */ (document.getElementById('stop'));
  const model = /** @type {HTMLButtonElement} */ (document.getElementById('model'));
  const attach = /** @type {HTMLButtonElement} */ (document.getElementById('attach'));
  const context = /** @type {HTMLElement} */ (document.getElementById('context'));
  const tokens = /** @type {HTMLElement} */ (document.getElementById('tokens'));

  /** @param {string} tag @param {string} className */
  function element(tag, className) {
    const node = document.createElement(tag);
    node.className = className;
    return node;
  }

  /** One message's element; the thinking <details> survives updates, so it stays as the user left it. */
  function createMessage() {
    const node = element('section', 'message');
    const role = element('div', 'role');
    const thinking = /** @type {HTMLDetailsElement} */ (element('details', 'thinking'));
    const summary = element('summary', '');
    summary.textContent = 'Thinking';
    const thinkingBody = element('div', 'thinking-body');
    thinking.append(summary, thinkingBody);
    const body = element('div', 'body');
    const error = element('div', 'error');
    const meta = element('div', 'meta');
    node.append(role, thinking, body, error, meta);
    return node;
  }

  /** @param {HTMLElement} node @param {MessageView} view */
  function fill(node, view) {
    node.className = `message ${view.role}${view.streaming ? ' streaming' : ''}`;
    const [role, thinking, body, error, meta] = /** @type {HTMLElement[]} */ (Array.from(node.children));
    role.textContent = view.role === 'user' ? 'You' : 'Switchboard';
    thinking.hidden = !view.thinkingHtml;
    if (view.thinkingHtml && thinking.lastElementChild) {
      thinking.lastElementChild.innerHTML = view.thinkingHtml;
    }
    body.innerHTML = view.html;
    error.innerHTML = view.errorHtml;
    error.hidden = !view.errorHtml;
    meta.textContent = view.meta;
    meta.hidden = !view.meta;
  }

  /** @param {MessageView[]} views */
  function reset(views) {
    messages.replaceChildren(
      ...views.map((view) => {
        const node = createMessage();
        fill(node, view);
        return node;
      }),
    );
    empty.hidden = views.length > 0;
    scrollToEnd(true);
  }

  /** @param {number} index @param {MessageView} view */
  function update(index, view) {
    while (messages.children.length <= index) {
      messages.append(createMessage());
    }
    const stick = nearEnd();
    fill(/** @type {HTMLElement} */ (messages.children[index]), view);
    empty.hidden = true;
    scrollToEnd(stick);
  }

  function nearEnd() {
    const root = document.scrollingElement || document.documentElement;
    return root.scrollHeight - root.scrollTop - root.clientHeight < 80;
  }

  /** @param {boolean} force */
  function scrollToEnd(force) {
    if (force) {
      const root = document.scrollingElement || document.documentElement;
      root.scrollTop = root.scrollHeight;
    }
  }

  /** @param {boolean} busy */
  function setBusy(busy) {
    stop.hidden = !busy;
    send.hidden = busy;
    document.body.classList.toggle('busy', busy);
  }

  /** @param {Chip[]} chips */
  function drawContext(chips) {
    context.replaceChildren(
      ...chips.map((chip) => {
        const node = /** @type {HTMLButtonElement} */ (element('button', `chip ${chip.kind}${chip.on ? '' : ' off'}`));
        node.type = 'button';
        node.title = chip.title;
        node.dataset.key = chip.key;
        node.dataset.kind = chip.kind;
        node.setAttribute('aria-pressed', String(chip.on));
        node.textContent = chip.kind === 'file' ? `${chip.label} ×` : chip.label;
        return node;
      }),
    );
    context.hidden = chips.length === 0;
  }

  let draftTimer = 0;
  function sendDraft() {
    window.clearTimeout(draftTimer);
    draftTimer = window.setTimeout(() => vscode.postMessage({ type: 'draft', text: input.value }), 200);
  }

  window.addEventListener('message', (event) => {
    const message = event.data;
    switch (message.type) {
      case 'reset':
        reset(message.messages);
        model.textContent = message.model;
        setBusy(message.busy);
        break;
      case 'update':
        update(message.index, message.message);
        if (message.model) {
          model.textContent = message.model;
        }
        break;
      case 'busy':
        setBusy(message.busy);
        break;
      case 'model':
        model.textContent = message.model;
        break;
      case 'context':
        drawContext(message.chips);
        break;
      case 'tokens':
        tokens.textContent = message.text;
        tokens.title = message.title || 'What the next request sends';
        break;
      case 'focus':
        input.focus();
        break;
    }
  });

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (text) {
      vscode.postMessage({ type: 'send', text });
      input.value = '';
      tokens.textContent = '';
    }
  });
  input.addEventListener('input', (event) => {
    const typed = /** @type {InputEvent} */ (event).data;
    const before = input.value.slice(0, input.selectionStart);
    if (typed === '#' && /(^|\s)#$/.test(before)) {
      // #file: the workspace's files in a picker; the '#' itself is not part of the question.
      input.value = before.slice(0, -1) + input.value.slice(input.selectionStart);
      vscode.postMessage({ type: 'pickFile' });
    }
    sendDraft();
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    } else if (event.key === 'Escape' && !stop.hidden) {
      vscode.postMessage({ type: 'stop' });
    }
  });
  stop.addEventListener('click', () => vscode.postMessage({ type: 'stop' }));
  attach.addEventListener('click', () => vscode.postMessage({ type: 'pickFile' }));
  model.addEventListener('click', () => vscode.postMessage({ type: 'chooseModel' }));
  context.addEventListener('click', (event) => {
    const chip = /** @type {HTMLElement} */ (event.target).closest('.chip');
    if (chip instanceof HTMLElement) {
      vscode.postMessage(
        chip.dataset.kind === 'editor' ? { type: 'toggleEditor' } : { type: 'removeFile', key: chip.dataset.key },
      );
    }
  });
  messages.addEventListener('click', (event) => {
    const target = /** @type {HTMLElement} */ (event.target);
    const button = target.closest('button[data-action]');
    const block = button && button.closest('.code-block');
    const code = block && block.querySelector('code');
    if (button && code) {
      vscode.postMessage({ type: button.getAttribute('data-action'), text: code.textContent || '' });
    }
  });

  vscode.postMessage({ type: 'ready' });
  input.focus();
})();
