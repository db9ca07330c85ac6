;;; switchboard.el --- Switchboard through eglot  -*- lexical-binding: t; -*-

;; Emacs 28+ with eglot (built in from Emacs 29; `elpa-eglot' or GNU ELPA on 28).
;;
;;   (add-to-list 'load-path "/path/to/switchboard/editors/emacs")
;;   (require 'switchboard)
;;
;; Eglot starts `switchboard serve' for the modes in `switchboard-modes' and sends
;; the documents; the code actions come through `M-x eglot-code-actions'.
;; `M-x switchboard-ask' asks the default model and streams the answer into
;; *switchboard* while Emacs goes on: the request is asynchronous, the text
;; arrives as `$/progress' partial results, and the answer ends with its tokens
;; and cost.

;;; Code:

(require 'eglot)
(require 'jsonrpc)
(require 'cl-lib)

(defgroup switchboard nil
  "Switchboard, one language server for many AI providers."
  :group 'tools)

(defcustom switchboard-command '("switchboard" "serve")
  "How eglot starts the server."
  :type '(repeat string))

(defcustom switchboard-modes '(python-mode markdown-mode text-mode)
  "The major modes eglot serves with Switchboard."
  :type '(repeat symbol))

(defcustom switchboard-ask-timeout 600
  "Seconds an answer may take before `switchboard-ask' gives up on it."
  :type 'integer)

(add-to-list 'eglot-server-programs (cons switchboard-modes switchboard-command))

(defvar switchboard--streams (make-hash-table :test #'equal)
  "partialResultToken -> the marker where that answer's text goes.")

(defvar switchboard--last-token 0)

(cl-defmethod eglot-handle-notification :before
  (_server (_method (eql $/progress)) &key token value &allow-other-keys)
  "Put the text events of a streamed answer where they belong."
  (let ((marker (gethash token switchboard--streams)))
    (when (and marker (marker-buffer marker))
      (with-current-buffer (marker-buffer marker)
        (save-excursion
          (goto-char marker)
          (cl-loop for event across (or (plist-get value :events) [])
                   when (equal (plist-get event :type) "text")
                   do (insert (plist-get event :text))))))))

(defun switchboard--footer (result)
  "One line with RESULT's tokens and cost."
  (let* ((usage (plist-get result :usage))
         (cost (plist-get result :cost))
         (total (and cost (plist-get cost :totalUsd))))
    (format "[%s · %d in · %d out · %s]"
            (plist-get result :model)
            (or (plist-get usage :inputTokens) 0)
            (or (plist-get usage :outputTokens) 0)
            (if total (format "$%.4f" total) "price unknown"))))

(defun switchboard--result-text (result)
  (mapconcat (lambda (part) (or (plist-get part :text) ""))
             (plist-get result :content) ""))

(defun switchboard--finish (token start marker text)
  "End the answer at MARKER: TEXT (the footer or an error), and forget TOKEN.
START is where the answer began."
  (remhash token switchboard--streams)
  (when (marker-buffer marker)
    (with-current-buffer (marker-buffer marker)
      (save-excursion
        (goto-char marker)
        (insert (if (> marker start) "\n\n" "") text "\n\n"))
      (set-marker marker nil))))

(defun switchboard-ask (question)
  "Ask Switchboard's default model QUESTION; the answer streams into *switchboard*.
Returns at once: the answer arrives while Emacs goes on."
  (interactive "sAsk: ")
  (let* ((server (eglot--current-server-or-lose))
         (token (format "switchboard-emacs-%d" (cl-incf switchboard--last-token)))
         (buffer (get-buffer-create "*switchboard*"))
         start marker)
    (with-current-buffer buffer
      (goto-char (point-max))
      (insert "> " question "\n\n")
      (setq start (point-marker))
      ;; The answer's text goes before this marker; it advances as text arrives.
      (setq marker (copy-marker (point) t)))
    (puthash token marker switchboard--streams)
    (display-buffer buffer)
    (jsonrpc-async-request
     server :switchboard/chat
     `(:messages [(:role "user" :content ,question)] :partialResultToken ,token)
     :timeout switchboard-ask-timeout
     :success-fn
     (lambda (result)
       ;; A replayed or unstreamed answer comes only in the result.
       (when (and (marker-buffer marker) (= marker start))
         (with-current-buffer (marker-buffer marker)
           (save-excursion
             (goto-char marker)
             (insert (switchboard--result-text result)))))
       (switchboard--finish token start marker (switchboard--footer result)))
     :error-fn
     (lambda (error)
       (switchboard--finish token start marker
                            (format "[failed: %s]" (plist-get error :message))))
     :timeout-fn
     (lambda ()
       (switchboard--finish token start marker
                            (format "[no answer within %d s]" switchboard-ask-timeout))))
    token))

(defun switchboard-streaming-p ()
  "Whether an answer is still streaming."
  (> (hash-table-count switchboard--streams) 0))

(provide 'switchboard)
;;; switchboard.el ends here
