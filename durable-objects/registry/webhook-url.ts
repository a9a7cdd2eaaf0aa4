const MAX_URL_LENGTH = 2048;
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * Why a webhook URL cannot be used, or null when it can. Signed events carry stream and session ids, so they
 * go over https only; plain http is allowed to this machine when `allowHttp` (WEBHOOK_ALLOW_HTTP, the local
 * stack) so a receiver can be tried out without a certificate.
 */
export function webhookUrlProblem(value: string, allowHttp: boolean): string | null {
  if (value.length > MAX_URL_LENGTH) return `webhookUrl must be at most ${MAX_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "webhookUrl must be an absolute URL like https://example.com/onair-webhook";
  }
  if (url.username || url.password) return "webhookUrl must not carry credentials; verify the Onair-Signature header instead";
  if (url.protocol === "https:") return null;
  if (url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname)) {
    return allowHttp ? null : "webhookUrl must use https (http to localhost is allowed only when the Worker's WEBHOOK_ALLOW_HTTP is \"true\")";
  }
  return "webhookUrl must use https";
}
