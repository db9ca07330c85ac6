;;; eglot_chat.el --- Switchboard through eglot in batch Emacs  -*- lexical-binding: t; -*-

;; Run by tests/test_emacs_eglot.py after the README's Emacs code:
;;   emacs --batch -l readme-eglot.el -l eglot_chat.el
;; It opens $SWITCHBOARD_TEST_WORK/notes.py, lets eglot start `switchboard serve`
;; from the PATH, counts the document's tokens before and after an edit, runs a
;; streamed chat through `jsonrpc-request' and one through the README's
;; `switchboard-ask', runs the "explain with comments" code action on the first
;; function the way `M-x eglot-code-actions' does, and writes what it saw as JSON to
;; $SWITCHBOARD_TEST_WORK/report.json for the test to check.  Any error is
;; written there too, and exits 1.

(require 'eglot)
(require 'json)
(require 'cl-lib)

(defconst switchboard-test-token "emacs-chat-1")
(defconst switchboard-test-timeout 120
  "Seconds before a request counts as hung; nothing asserts on speed.")

(defvar switchboard-test-partials nil "Values of $/progress for our token, newest first.")
(defvar switchboard-test-usage-changed nil "Params of each switchboard/usageChanged, newest first.")

(defun switchboard-test-ask (question)
  "Run `switchboard-ask' with a timer ticking; say what the timer saw while it streamed."
  (let* ((seen nil)
         (timer (run-at-time
                 0 0.01
                 (lambda ()
                   (when (switchboard-streaming-p)
                     (push (with-current-buffer "*switchboard*"
                             (buffer-substring-no-properties (point-min) (point-max)))
                           seen)))))
         (_ (switchboard-ask question))
         (returned-while-streaming (switchboard-streaming-p)))
    (with-timeout (switchboard-test-timeout (error "switchboard-ask never finished"))
      (while (switchboard-streaming-p)
        (accept-process-output nil 0.05)))
    (cancel-timer timer)
    `(:returnedWhileStreaming ,(if returned-while-streaming t :json-false)
      :seenWhileStreaming ,(vconcat (delete-dups (reverse seen))))))

(cl-defmethod eglot-handle-notification
  (_server (_method (eql $/progress)) &key token value)
  (when (equal token switchboard-test-token)
    (push value switchboard-test-partials)))

(cl-defmethod eglot-handle-notification
  (_server (_method (eql switchboard/usageChanged)) &rest params)
  (push params switchboard-test-usage-changed))

(defun switchboard-test-request (server method params)
  (jsonrpc-request server method params :timeout switchboard-test-timeout))

(defun switchboard-test-count (server uri)
  (plist-get (switchboard-test-request
              server :switchboard/countTokens
              `(:model "openai/gpt-4o" :textDocument (:uri ,uri)))
             :inputTokens))

(defun switchboard-test-run (work)
  (let* ((file (expand-file-name "notes.py" work))
         (buffer (find-file-noselect file))
         report)
    (with-current-buffer buffer
      (unless (derived-mode-p 'python-mode)
        (error "notes.py opened in %s, not python-mode" major-mode))
      (let ((eglot-sync-connect t)
            (eglot-connect-timeout switchboard-test-timeout))
        (apply #'eglot (eglot--guess-contact)))
      (let* ((server (or (eglot-current-server) (error "eglot started no server")))
             (uri (eglot--path-to-uri file))
             (count-opened (switchboard-test-count server uri))
             (_ (progn (goto-char (point-max))
                       (insert "\ndef subtract(a, b):\n    return a - b\n")
                       (eglot--signal-textDocument/didChange)))
             (count-edited (switchboard-test-count server uri))
             (edited-text (buffer-substring-no-properties (point-min) (point-max)))
             (chat (switchboard-test-request
                    server :switchboard/chat
                    `(:model "openai/gpt-4o"
                      :messages [(:role "user" :content "Say hello.")]
                      :partialResultToken ,switchboard-test-token)))
             (ask (switchboard-test-ask "Tell me a joke."))
             (function-end (save-excursion (goto-char (point-min)) (forward-line 2) (point)))
             (titles (mapcar (lambda (action) (plist-get action :title))
                             (eglot-code-actions (point-min) function-end))))
        ;; Batch Emacs has no menu: answer eglot's prompt, and apply without asking.
        (let ((last-nonmenu-event ?\r)
              (eglot-confirm-server-initiated-edits nil))
          (cl-letf (((symbol-function 'completing-read)
                     (lambda (&rest _) "Switchboard: explain with comments")))
            (eglot-code-actions (point-min) function-end nil t)))
        ;; usageChanged follows each chat's result; wait for all three without a fixed sleep.
        (with-timeout (switchboard-test-timeout (error "fewer than three switchboard/usageChanged"))
          (while (< (length switchboard-test-usage-changed) 3)
            (accept-process-output nil 0.05)))
        (setq report
              `(:serverName ,(plist-get (eglot--server-info server) :name)
                :countOpened ,count-opened
                :countEdited ,count-edited
                :editedText ,edited-text
                :chat ,chat
                :partials ,(vconcat (reverse switchboard-test-partials))
                :usageChanged ,(vconcat (reverse switchboard-test-usage-changed))
:ask ,ask
                :askBuffer ,(with-current-buffer "*switchboard*"
                              (buffer-substring-no-properties (point-min) (point-max)))
                :codeActionTitles ,(vconcat titles)
                :afterCodeAction ,(buffer-substring-no-properties (point-min) (point-max))))
        (eglot-shutdown server)))
    report))

(let* ((work (or (getenv "SWITCHBOARD_TEST_WORK") (error "SWITCHBOARD_TEST_WORK is not set")))
       (out (expand-file-name "report.json" work))
       (status 0)
       report)
  (condition-case err
      (setq report (switchboard-test-run work))
    (error (setq status 1
                 report `(:error ,(error-message-string err)))))
  (with-temp-file out
    (insert (json-encode report)))
  (princ (format "eglot_chat.el: %s\n" (if (zerop status) "done" (plist-get report :error))))
  (kill-emacs status))

;;; eglot_chat.el ends here
