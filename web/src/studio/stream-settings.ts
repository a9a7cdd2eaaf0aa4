/**
 * A stream's settings (PATCH /api/streams/:id): record each broadcast, and the webhook URL its events
 * are sent to. Setting a URL answers with the webhook secret, shown here once (hidden until revealed,
 * with a copy button) and never again.
 */
import type { AdminStreamEntry } from "../lib/api";
import { copyField } from "../lib/copy";
import { h, replaceChildren } from "../lib/dom";
import { updateStream } from "./api";
import { act, errorLine, section, type PanelContext } from "./ui";

function isHttpUrl(text: string): boolean {
  try {
    return /^https?:$/.test(new URL(text).protocol);
  } catch {
    return false;
  }
}

export function createSettingsSection(stream: AdminStreamEntry, ctx: PanelContext): HTMLElement {
  const { streamId } = ctx;
  const recordBox = h("input", { type: "checkbox", id: `record-${streamId}`, checked: stream.record === true });
  const recordError = errorLine();
  recordBox.addEventListener("change", async () => {
    const wanted = recordBox.checked;
    recordBox.disabled = true;
    const ok = await act(ctx, recordError, "Could not change recording", async (token) => {
      const { stream: fresh } = await updateStream(token, streamId, { record: wanted });
      stream.record = fresh.record ?? wanted;
    });
    recordBox.disabled = false;
    recordBox.checked = ok ? stream.record === true : !wanted;
    if (ok) ctx.announce(stream.record ? "Recording is on: the next broadcasts are kept." : "Recording is off.");
  });

  const urlInput = h("input", {
    type: "url",
    id: `webhook-${streamId}`,
    inputmode: "url",
    placeholder: "https://example.com/hooks/onair",
    spellcheck: "false",
    autocomplete: "off",
    "aria-describedby": `webhook-hint-${streamId}`,
  });
  urlInput.value = stream.webhookUrl ?? "";
  const saveButton = h("button", { type: "submit", class: "btn btn-small" }, "Save webhook");
  const removeButton = h("button", { type: "button", class: "btn btn-small", hidden: !stream.webhookUrl }, "Remove webhook");
  const webhookError = errorLine();
  const secretSlot = h("div", { class: "secret-slot" });
  const current = h("p", { class: "hint" });
  const form = h(
    "form",
    { class: "webhook-form", novalidate: true },
    h("label", { for: urlInput.id }, "Webhook URL"),
    urlInput,
    h("div", { class: "button-row webhook-buttons" }, saveButton, removeButton),
    h(
      "p",
      { class: "hint", id: `webhook-hint-${streamId}` },
      "onair sends this stream's events (live, offline, recording ready) to this URL, signed with the webhook secret.",
    ),
    current,
    webhookError,
    secretSlot,
  );

  function showCurrent(): void {
    current.textContent = stream.webhookUrl ? "Saved." : "No webhook.";
    removeButton.hidden = !stream.webhookUrl;
  }

  async function save(url: string | null): Promise<void> {
    saveButton.disabled = removeButton.disabled = true;
    replaceChildren(secretSlot);
    const got: { secret?: string } = {};
    const ok = await act(ctx, webhookError, url ? "Could not save the webhook" : "Could not remove the webhook", async (token) => {
      const res = await updateStream(token, streamId, { webhookUrl: url });
      stream.webhookUrl = res.stream.webhookUrl ?? url;
      got.secret = res.webhookSecret;
    });
    saveButton.disabled = removeButton.disabled = false;
    if (!ok) return urlInput.focus();
    urlInput.value = stream.webhookUrl ?? "";
    showCurrent();
    if (got.secret) {
      const field = copyField({
        label: "Webhook secret",
        value: got.secret,
        secret: true,
        hint: "Shown only now: copy it into the receiving service, which uses it to check each request came from onair. Saving a URL again makes a new secret.",
      });
      secretSlot.append(field);
      field.querySelector("input")?.focus();
      ctx.announce("Webhook saved. Its secret is below, shown only this once.");
    } else {
      ctx.announce(url ? "Webhook saved." : "Webhook removed.");
      if (!url) urlInput.focus();
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const url = urlInput.value.trim();
    if (!url) return void save(null);
    // The API has the last word on what it accepts; this only catches what is plainly not a URL.
    if (!isHttpUrl(url)) {
      webhookError.textContent = "Enter a full URL, starting with https://";
      return urlInput.focus();
    }
    void save(url);
  });
  removeButton.addEventListener("click", () => void save(null));
  showCurrent();

  return section(
    "settings",
    streamId,
    "Recording and webhook",
    h("div", { class: "check-row" }, recordBox, h("label", { for: recordBox.id }, "Record each broadcast (kept under Recordings when it ends)")),
    recordError,
    form,
  );
}
