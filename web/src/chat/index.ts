/** The chat panel for the watch page: `mountChat(element, streamId)`. */
export { mountChat } from "./panel";
