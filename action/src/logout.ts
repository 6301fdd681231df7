/**
 * The post step: remove exactly the entry main added, from the file main wrote,
 * and only while it is still the one main wrote.
 */
import { removeLogin } from "@jwt-registry-auth/client/docker-config";
import { getState, type Env, type Runner } from "./runner.ts";
import { STATE } from "./state.ts";
import { parseHelperState, uninstallHelper } from "./helper.ts";

export function logout(env: Env, runner: Runner): void {
  if (getState(env, STATE.logout) === "false") {
    runner.info("logout is false: leaving the registry login in place");
    return;
  }
  const helper = parseHelperState(getState(env, STATE.helper));
  if (helper !== undefined) {
    uninstallHelper(helper, runner);
    return;
  }
  const configPath = getState(env, STATE.config);
  const host = getState(env, STATE.registry);
  const fingerprint = getState(env, STATE.fingerprint);
  if (configPath === "" || host === "" || fingerprint === "") {
    runner.info("Nothing to log out: the main step did not log in");
    return;
  }
  switch (removeLogin(configPath, host, fingerprint)) {
    case "removed":
      runner.info(`Logged out of ${host}: removed its entry from ${configPath}`);
      return;
    case "absent":
      runner.info(`Nothing to log out: ${configPath} has no entry for ${host} any more`);
      return;
    case "changed":
      runner.warning(`Left the entry for ${host} in ${configPath} alone: it was replaced after this Action logged in`);
      return;
  }
}
