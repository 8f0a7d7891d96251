;;; eglot.el --- drives Emacs's eglot against `aioscope lsp'  -*- lexical-binding: t -*-
;; Opens a file, connects eglot to `aioscope lsp' attached to a live process with the
;; configuration README.md gives, waits until flymake has every diagnostic wanted, and writes what
;; it saw to a JSON file: the diagnostics, the code lenses (which eglot does not show: asked for
;; directly), the hover of a line (what eldoc shows) and the tasks of workspace/symbol (what
;; xref-find-apropos lists). Written for Emacs 28 with Debian's elpa-eglot and later. Input comes
;; from the environment:
;;   AIOSCOPE_BIN   the aioscope binary       AIOSCOPE_FILE   the source file to open
;;   AIOSCOPE_PID   the process to attach to  AIOSCOPE_OUT    where to write the results
;;   AIOSCOPE_STUCK stuckThreshold            AIOSCOPE_HOVER  the 1-based line to hover
;;   AIOSCOPE_DIAGNOSTICS  message prefixes, separated by "|", of diagnostics to wait for
(require 'json)
(defvar aioscope-out nil)

(defun aioscope-finish ()
  (with-temp-file (getenv "AIOSCOPE_OUT")
    (insert (json-encode aioscope-out)))
  (kill-emacs 0))

(condition-case err
    (progn
      (require 'eglot)
      (require 'python)
      (let ((bin (getenv "AIOSCOPE_BIN"))
            (pid (string-to-number (getenv "AIOSCOPE_PID")))
            (stuck (string-to-number (getenv "AIOSCOPE_STUCK"))))
        ;; README.md's configuration, with the binary's path and the options filled in.
        (with-eval-after-load 'eglot
          (add-to-list 'eglot-server-programs
                       `((python-mode python-ts-mode)
                         . (,bin "lsp" :initializationOptions (:processId ,pid :stuckThreshold ,stuck))))))
      (find-file (getenv "AIOSCOPE_FILE"))
      (python-mode)
      (setq eglot-sync-connect 15)
      (call-interactively #'eglot)
      (let ((server (eglot-current-server))
            (wanted (split-string (getenv "AIOSCOPE_DIAGNOSTICS") "|" t))
            (deadline (+ (float-time) 20)))
        (unless server (error "eglot did not connect"))
        (push (cons 'server (ignore-errors (plist-get (eglot--server-info server) :name))) aioscope-out)
        (while (and (< (float-time) deadline)
                    (not (seq-every-p
                          (lambda (prefix)
                            (seq-some (lambda (d) (string-match-p (regexp-quote prefix) (flymake-diagnostic-text d)))
                                      (flymake-diagnostics)))
                          wanted)))
          (accept-process-output nil 0.1)
          (sit-for 0))
        (push (cons 'diagnostics
                    (vconcat (mapcar (lambda (d)
                                       (list (cons 'line (line-number-at-pos (flymake-diagnostic-beg d)))
                                             (cons 'type (symbol-name (flymake-diagnostic-type d)))
                                             (cons 'text (flymake-diagnostic-text d))))
                                     (flymake-diagnostics))))
              aioscope-out)
        (push (cons 'lenses
                    (vconcat (mapcar (lambda (l)
                                       (list (cons 'line (1+ (plist-get (plist-get (plist-get l :range) :start) :line)))
                                             (cons 'title (plist-get (plist-get l :command) :title))))
                                     (jsonrpc-request server :textDocument/codeLens
                                                      `(:textDocument ,(eglot--TextDocumentIdentifier))))))
              aioscope-out)
        (goto-char (point-min))
        (forward-line (1- (string-to-number (getenv "AIOSCOPE_HOVER"))))
        (back-to-indentation)
        (let ((h (jsonrpc-request server :textDocument/hover (eglot--TextDocumentPositionParams))))
          (push (cons 'hover (or (plist-get (plist-get h :contents) :value) "")) aioscope-out))
        (push (cons 'symbols
                    (vconcat (mapcar (lambda (s) (plist-get s :name))
                                     (jsonrpc-request server :workspace/symbol '(:query "")))))
              aioscope-out)))
  (error (push (cons 'errors (vector (error-message-string err))) aioscope-out)))
(aioscope-finish)
