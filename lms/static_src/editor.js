// The exercise code editor: CodeMirror 6 over each answer textarea, bundled by `make editor`.
// The textarea stays in the form and receives every change, so Check, Submit and Run post the
// same field with or without this script; without JavaScript the learner simply gets the textarea.
import { EditorState } from "@codemirror/state";
import {
  EditorView, drawSelection, highlightActiveLine, highlightActiveLineGutter, highlightSpecialChars,
  keymap, lineNumbers,
} from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { bracketMatching, defaultHighlightStyle, indentOnInput, indentUnit, syntaxHighlighting } from "@codemirror/language";
import { python } from "@codemirror/lang-python";

function labelOf(area) {
  var label = area.id ? document.querySelector('label[for="' + area.id + '"]') : null;
  return label ? label.textContent.trim() : "Code";
}

function attach(area) {
  if (area.dataset.editor) return;
  area.dataset.editor = "codemirror";
  var help = area.getAttribute("aria-describedby");
  var view = new EditorView({
    state: EditorState.create({
      doc: area.value,
      extensions: [
        lineNumbers(),
        highlightActiveLineGutter(),
        highlightSpecialChars(),
        history(),
        drawSelection(),
        indentOnInput(),
        bracketMatching(),
        highlightActiveLine(),
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
        python(),
        indentUnit.of("    "),
        // Tab indents, as learners expect in a code editor; Escape then Tab (or Ctrl-M) leaves it.
        keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
        // Code reads left to right even inside an Arabic page.
        EditorView.editorAttributes.of({ dir: "ltr", class: "oc-editor" }),
        EditorView.contentAttributes.of(Object.assign(
          { "aria-label": labelOf(area), dir: "ltr", spellcheck: "false", autocapitalize: "off", translate: "no" },
          help ? { "aria-describedby": help } : {}
        )),
        EditorView.updateListener.of(function (update) {
          if (update.docChanged) area.value = update.state.doc.toString();
        }),
      ],
    }),
  });
  area.after(view.dom);
  area.hidden = true;
  // exercise.js resets the textarea to the starter code and asks the editor to follow it.
  area.addEventListener("editor:replace", function () {
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: area.value } });
  });
}

function attachAll() {
  document.querySelectorAll("textarea.code-editor").forEach(attach);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", attachAll);
else attachAll();
