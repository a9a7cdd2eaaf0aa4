import type { Env as OnairEnv } from "../../workers/env";

// Types `env` and `exports` from "cloudflare:workers" in the tests with the Worker's own bindings.
declare global {
  namespace Cloudflare {
    interface Env extends OnairEnv {}
    interface GlobalProps {
      mainModule: typeof import("../../workers/index");
      durableNamespaces: "StreamRegistry" | "ChatRoom";
    }
  }
}
