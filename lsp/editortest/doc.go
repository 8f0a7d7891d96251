// Package editortest runs real editors' language clients against the `aioscope lsp` binary and a
// live CPython process: Neovim's built-in client, headless. It has no code outside its tests.
package editortest
