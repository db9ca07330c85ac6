// @ts-check
// The chat view's script: draws the messages the extension sends (their HTML is rendered and
// escaped by the extension) and sends back what the user does. No dependencies.
(function () {
  /** @type {{postMessage(message: unknown): void}} */
  // @ts-ignore acquireVsCodeApi is provided by the webview host
  const vscode = acquireVsCodeApi();

  /**
   * @typedef {{role: 'user'|'assistant', html: string, thinkingHtml: string, meta: string,
   *            streaming: boolean, error: string}} MessageView
   */

  const messages = /** @type {HTMLElement} */ (document.getElementById('messages'));
  const empty = /** @type {HTMLElement} */ (document.getElementById('empty'));
  const form = /** @type {HTMLFormElement} */ (document.getElementById('composer'));
  const input = /** @type {HTMLTextAreaElement} */ (document.getElementById('input'));
  const send = /** @type {HTMLButtonElement} */ (document.getElementById('send'));
  const stop = /** @type {HTMLButtonElement} */ (document.getElementById('stop'));
  const model = /** @type {HTMLButtonElement} */ (document.getElementById('model'));
  const newChat = /** @type {HTMLButtonElement} */ (document.getElementById('new-chat'));

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
    error.textContent = view.error;
    error.hidden = !view.error;
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
    }
  });

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (text) {
      vscode.postMessage({ type: 'send', text });
      input.value = '';
    }
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
  newChat.addEventListener('click', () => vscode.postMessage({ type: 'newChat' }));
  model.addEventListener('click', () => vscode.postMessage({ type: 'chooseModel' }));
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
