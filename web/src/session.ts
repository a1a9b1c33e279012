import { createContext, useContext } from "react";
import type { SessionInfo } from "./api.js";

export const SessionContext = createContext<SessionInfo>({
  open: true,
  user: null,
  admin: true,
  csrfToken: "",
});

/** The signed-in session: who, and whether they may change configuration (`admin`). */
export function useSession(): SessionInfo {
  return useContext(SessionContext);
}
