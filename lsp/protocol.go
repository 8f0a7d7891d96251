package lsp

import "encoding/json"

// The few Language Server Protocol 3.17 structures this server reads and writes. The maintained
// Go modules of LSP types either lack what is needed here (inlay hints came with 3.17) or bring
// their own JSON-RPC stack and logging along; these structs carry only the fields used.

// Error codes of the protocol, beyond JSON-RPC's own.
const (
	codeServerNotInitialized = -32002
	codeRequestCancelled     = -32800
	codeRequestFailed        = -32803
)

// Position encodings a client may offer (general.positionEncodings).
const (
	encodingUTF16 = "utf-16"
	encodingUTF8  = "utf-8"
)

type initializeParams struct {
	ProcessID             *int               `json:"processId"` // the client's own process
	RootURI               string             `json:"rootUri"`
	Capabilities          clientCapabilities `json:"capabilities"`
	InitializationOptions json.RawMessage    `json:"initializationOptions"`
}

type clientCapabilities struct {
	General struct {
		PositionEncodings []string `json:"positionEncodings"`
	} `json:"general"`
	Workspace struct {
		CodeLens struct {
			RefreshSupport bool `json:"refreshSupport"`
		} `json:"codeLens"`
		InlayHint struct {
			RefreshSupport bool `json:"refreshSupport"`
		} `json:"inlayHint"`
		Diagnostics struct {
			RefreshSupport bool `json:"refreshSupport"`
		} `json:"diagnostics"`
	} `json:"workspace"`
	TextDocument struct {
		CodeLens  *json.RawMessage `json:"codeLens"`
		InlayHint *json.RawMessage `json:"inlayHint"`
		Hover     struct {
			ContentFormat []string `json:"contentFormat"`
		} `json:"hover"`
		PublishDiagnostics struct {
			RelatedInformation bool `json:"relatedInformation"`
		} `json:"publishDiagnostics"`
	} `json:"textDocument"`
}

type initializeResult struct {
	Capabilities serverCapabilities `json:"capabilities"`
	ServerInfo   serverInfo         `json:"serverInfo"`
}

type serverInfo struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

type serverCapabilities struct {
	PositionEncoding        string                 `json:"positionEncoding"`
	TextDocumentSync        textDocumentSync       `json:"textDocumentSync"`
	CodeLensProvider        *codeLensOptions       `json:"codeLensProvider,omitempty"`
	HoverProvider           bool                   `json:"hoverProvider"`
	InlayHintProvider       bool                   `json:"inlayHintProvider,omitempty"`
	WorkspaceSymbolProvider bool                   `json:"workspaceSymbolProvider"`
	ExecuteCommandProvider  *executeCommandOptions `json:"executeCommandProvider,omitempty"`
}

type textDocumentSync struct {
	OpenClose bool `json:"openClose"`
	Change    int  `json:"change"` // 1: the whole text on every change
}

type codeLensOptions struct {
	ResolveProvider bool `json:"resolveProvider"`
}

type executeCommandOptions struct {
	Commands []string `json:"commands"`
}

type textDocumentItem struct {
	URI     string `json:"uri"`
	Version int    `json:"version"`
	Text    string `json:"text"`
}

type textDocumentIdentifier struct {
	URI string `json:"uri"`
}

type didOpenParams struct {
	TextDocument textDocumentItem `json:"textDocument"`
}

type didCloseParams struct {
	TextDocument textDocumentIdentifier `json:"textDocument"`
}

type textDocumentPositionParams struct {
	TextDocument textDocumentIdentifier `json:"textDocument"`
	Position     Position               `json:"position"`
}

type codeLensParams struct {
	TextDocument textDocumentIdentifier `json:"textDocument"`
}

type inlayHintParams struct {
	TextDocument textDocumentIdentifier `json:"textDocument"`
	Range        Range                  `json:"range"`
}

type workspaceSymbolParams struct {
	Query string `json:"query"`
}

type executeCommandParams struct {
	Command   string            `json:"command"`
	Arguments []json.RawMessage `json:"arguments"`
}

type cancelParams struct {
	ID json.RawMessage `json:"id"`
}

// Position is a place in a document: 0-based line, and character offset in the negotiated
// position encoding.
type Position struct {
	Line      int `json:"line"`
	Character int `json:"character"`
}

// Range is a span of a document, its end exclusive.
type Range struct {
	Start Position `json:"start"`
	End   Position `json:"end"`
}

// Location is a range in a document.
type Location struct {
	URI   string `json:"uri"`
	Range Range  `json:"range"`
}

// CodeLens is a line of text shown above a line of source.
type CodeLens struct {
	Range   Range    `json:"range"`
	Command *Command `json:"command,omitempty"`
}

// Command is what a client shows for a code lens; an empty Command makes it plain text.
type Command struct {
	Title     string `json:"title"`
	Command   string `json:"command"`
	Arguments []any  `json:"arguments,omitempty"`
}

// InlayHint is a piece of text shown inside a line.
type InlayHint struct {
	Position    Position `json:"position"`
	Label       string   `json:"label"`
	PaddingLeft bool     `json:"paddingLeft,omitempty"`
	Tooltip     string   `json:"tooltip,omitempty"`
}

// Hover is the content shown for a position.
type Hover struct {
	Contents markupContent `json:"contents"`
	Range    *Range        `json:"range,omitempty"`
}

type markupContent struct {
	Kind  string `json:"kind"` // "markdown" or "plaintext"
	Value string `json:"value"`
}

// Severities of diagnostics.
const (
	severityError   = 1
	severityWarning = 2
)

// Diagnostic is a problem shown at a range of a document.
type Diagnostic struct {
	Range              Range                          `json:"range"`
	Severity           int                            `json:"severity"`
	Code               string                         `json:"code,omitempty"`
	Source             string                         `json:"source"`
	Message            string                         `json:"message"`
	RelatedInformation []DiagnosticRelatedInformation `json:"relatedInformation,omitempty"`
}

// DiagnosticRelatedInformation points from a diagnostic to another place that explains it.
type DiagnosticRelatedInformation struct {
	Location Location `json:"location"`
	Message  string   `json:"message"`
}

type publishDiagnosticsParams struct {
	URI         string       `json:"uri"`
	Diagnostics []Diagnostic `json:"diagnostics"`
}

// SymbolInformation is one answer to workspace/symbol.
type SymbolInformation struct {
	Name          string   `json:"name"`
	Kind          int      `json:"kind"`
	Location      Location `json:"location"`
	ContainerName string   `json:"containerName,omitempty"`
}

// symbolKindEvent is the kind tasks are listed as: the protocol has no kind for a running
// coroutine, and "event" is the closest to something that waits.
const symbolKindEvent = 24

// Message types of window/showMessage.
const (
	messageError   = 1
	messageWarning = 2
	messageInfo    = 3
)

type showMessageParams struct {
	Type    int    `json:"type"`
	Message string `json:"message"`
}
