/**
 * Pieces every studio panel uses: what a panel knows about its stream and session, running an API call
 * with its error shown next to the control, and a two-step confirmation for destructive buttons.
 */
import { ApiError } from "../lib/api";
import { h, replaceChildren, type Child } from "../lib/dom";

export interface PanelContext {
  readonly streamId: string;
  /** The admin token, or null once signed out. */
  token(): string | null;
  /** The token was refused (401) or is gone: the studio signs out. */
  onAuthError(): void;
  /** Says something in the studio's polite live region. */
  announce(message: string): void;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function isUnauthorized(err: unknown): boolean {
  return err instanceof ApiError && err.status === 401;
}

/**
 * Runs one API call with the admin token. A refused token signs out; any other failure is shown in
 * `errorEl` as "<what>: <the API's error>". Resolves true when the call succeeded.
 */
export async function act(ctx: PanelContext, errorEl: HTMLElement, what: string, fn: (token: string) => Promise<void>): Promise<boolean> {
  errorEl.textContent = "";
  const token = ctx.token();
  if (!token) {
    ctx.onAuthError();
    return false;
  }
  try {
    await fn(token);
    return true;
  } catch (err) {
    if (isUnauthorized(err)) ctx.onAuthError();
    else errorEl.textContent = `${what}: ${errorMessage(err)}`;
    return false;
  }
}

/** An error line for a control: read out when it appears (role=alert), hidden while empty. */
export function errorLine(): HTMLParagraphElement {
  return h("p", { class: "error", role: "alert" });
}

/** A titled section of the stream panel. */
export function section(key: string, streamId: string, title: string, ...children: Child[]): HTMLElement {
  const id = `${key}-${streamId}`;
  return h("section", { class: `panel-section panel-${key}`, "aria-labelledby": id }, h("h3", { id }, title), ...children);
}

export interface ConfirmOptions {
  /** The first button, e.g. "Rotate key…". */
  label: string;
  /** What happens, shown with the confirm button. */
  prompt: string;
  confirmLabel: string;
  /** The group's accessible name, e.g. "Confirm key rotation". */
  groupLabel: string;
  /** Resolves true when done (the box closes), false to stay open (an error is showing). */
  onConfirm(): Promise<boolean>;
  small?: boolean;
  /** The first button's accessible name where its text alone is ambiguous (one per list row). */
  ariaLabel?: string;
}

/** A destructive button that asks once more, inline (no modal dialog), with focus on Cancel. */
export function confirmStep(opts: ConfirmOptions): HTMLElement {
  const size = opts.small ? " btn-small" : "";
  const trigger = h("button", { type: "button", class: `btn btn-danger${size}`, "aria-label": opts.ariaLabel }, opts.label);
  const confirm = h("button", { type: "button", class: `btn btn-danger${size}` }, opts.confirmLabel);
  const cancel = h("button", { type: "button", class: `btn${size}` }, "Cancel");
  const box = h("div", { class: "confirm", hidden: true, role: "group", "aria-label": opts.groupLabel });
  replaceChildren(box, h("p", {}, opts.prompt), h("div", { class: "button-row" }, confirm, cancel));
  const close = (): void => {
    box.hidden = true;
    trigger.hidden = false;
  };
  trigger.addEventListener("click", () => {
    box.hidden = false;
    trigger.hidden = true;
    confirm.disabled = false;
    cancel.focus();
  });
  cancel.addEventListener("click", () => {
    close();
    trigger.focus();
  });
  box.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    close();
    trigger.focus();
  });
  confirm.addEventListener("click", async () => {
    confirm.disabled = true;
    const done = await opts.onConfirm();
    confirm.disabled = false;
    if (done && box.isConnected) close();
  });
  return h("div", { class: "confirm-step" }, trigger, box);
}
