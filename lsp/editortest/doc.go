// Package editortest runs real editors' language clients against the `aioscope lsp` binary and a
// live CPython process: Neovim's built-in client, headless, and Emacs's eglot in batch mode, each
// with the configuration README.md gives. It has no code outside its tests.
package editortest
