import { h } from "./dom";

/** Copies text; falls back to selecting a field and execCommand where the Clipboard API is unavailable (http). */
export async function copyText(text: string, fallbackField?: HTMLInputElement | HTMLTextAreaElement): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    /* permission denied: try the old way */
  }
  if (!fallbackField) return false;
  const { type } = fallbackField;
  if (fallbackField instanceof HTMLInputElement && type === "password") fallbackField.type = "text";
  fallbackField.select();
  const ok = document.execCommand("copy");
  if (fallbackField instanceof HTMLInputElement) fallbackField.type = type;
  fallbackField.setSelectionRange(0, 0);
  return ok;
}

export interface CopyFieldOptions {
  label: string;
  value: string;
  /** Hidden until revealed (stream keys). */
  secret?: boolean;
  /** Shown under the field. */
  hint?: string;
  multiline?: boolean;
}

let fields = 0;

/**
 * A labelled read-only field with a Copy button (and Reveal/Hide for secrets). The button's text says
 * "Copied" for a moment; the status region announces it.
 */
export function copyField(opts: CopyFieldOptions): HTMLDivElement {
  const id = `copy-field-${++fields}`;
  const field = opts.multiline
    ? h("textarea", { id, class: "copy-input", readonly: true, rows: 3, spellcheck: "false" })
    : h("input", { id, class: "copy-input", readonly: true, type: opts.secret ? "password" : "text", spellcheck: "false", autocomplete: "off" });
  field.value = opts.value;
  const status = h("span", { class: "copy-status sr-only", role: "status", "aria-live": "polite" });
  const copy = h("button", { type: "button", class: "btn btn-small", "aria-describedby": id }, "Copy");
  let resetTimer: number | undefined;
  copy.addEventListener("click", async () => {
    const ok = await copyText(field.value, field);
    copy.textContent = ok ? "Copied" : "Copy failed";
    status.textContent = ok ? `${opts.label} copied to the clipboard.` : `Could not copy. Select the text and copy it by hand.`;
    window.clearTimeout(resetTimer);
    resetTimer = window.setTimeout(() => (copy.textContent = "Copy"), 2000);
  });
  const buttons = h("span", { class: "copy-buttons" });
  if (opts.secret && field instanceof HTMLInputElement) {
    const reveal = h("button", { type: "button", class: "btn btn-small", "aria-controls": id }, "Reveal");
    reveal.addEventListener("click", () => {
      const shown = field.type === "password";
      field.type = shown ? "text" : "password";
      reveal.textContent = shown ? "Hide" : "Reveal";
    });
    buttons.append(reveal);
  }
  buttons.append(copy);
  return h(
    "div",
    { class: "copy-field" },
    h("label", { for: id }, opts.label),
    h("div", { class: "copy-row" }, field, buttons),
    opts.hint ? h("p", { class: "hint" }, opts.hint) : null,
    status,
  );
}
