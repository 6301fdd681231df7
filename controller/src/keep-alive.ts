/**
 * API clients whose requests share connections. @kubernetes/client-node 1.x
 * builds a new Agent for every request, so each call opens a new TCP (and
 * TLS) connection: at 1,000 ServiceAccounts that was most of the
 * controller's CPU. Authentication is still the kubeconfig's, applied per
 * request (tokens that rotate keep working); only the agent is replaced by a
 * keep-alive one per distinct TLS setting. Proxy agents are left alone.
 */
import { createHash } from "node:crypto";
import http from "node:http";
import https from "node:https";
import { createConfiguration, ServerConfiguration, type Configuration, type KubeConfig, type RequestContext } from "@kubernetes/client-node";

const MAX_AGENTS = 4;

export function keepAliveApiClient<T>(kubeConfig: KubeConfig, apiType: new (configuration: Configuration) => T): T {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error("the kubeconfig has no current cluster");
  const agents = new Map<string, http.Agent>();
  const shared = (fresh: http.Agent): http.Agent => {
    const secure = fresh.constructor === https.Agent;
    const options = (fresh as http.Agent & { options: https.AgentOptions }).options;
    const key = createHash("sha256")
      .update(JSON.stringify([secure, options.ca, options.cert, options.key, options.pfx, options.passphrase, options.rejectUnauthorized, options.servername]))
      .digest("hex");
    let agent = agents.get(key);
    if (!agent) {
      // Client certificates from an exec plugin rotate: drop the oldest agents.
      for (const [old, oldAgent] of agents) {
        if (agents.size < MAX_AGENTS) break;
        oldAgent.destroy();
        agents.delete(old);
      }
      agent = secure ? new https.Agent({ ...options, keepAlive: true }) : new http.Agent({ keepAlive: true });
      agents.set(key, agent);
    }
    return agent;
  };
  const auth = {
    getName: (): string => "kubeconfig-keep-alive",
    applySecurityAuthentication: async (context: RequestContext): Promise<void> => {
      await kubeConfig.applySecurityAuthentication(context);
      const fresh = context.getAgent();
      if (fresh && (fresh.constructor === http.Agent || fresh.constructor === https.Agent)) {
        context.setAgent(shared(fresh));
        fresh.destroy();
      }
    },
  };
  return new apiType(createConfiguration({ baseServer: new ServerConfiguration(cluster.server, {}), authMethods: { default: auth } }));
}
